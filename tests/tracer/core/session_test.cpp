// A node session against the real trace-forwarder (the node side) over a Unix socket, with
// faults injected into its loops: however it ends, it ends as a whole and releases its name,
// registry entry and writer slot, and the failure is counted by reason.
#include "tracer/core/session.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "dispatcher/node_names.hpp"
#include "tests/support/test_support.hpp"
#include "tracer/core/self_log.hpp"
#include "tracer/core/session_context.hpp"
#include "tracer/metrics/node_directory.hpp"
#include "tracer/outputs/output_router.hpp"

namespace {

using namespace ct::tracer;
using namespace ct::test;
using namespace std::chrono_literals;

struct session_fixture {
    temp_dir dir;
    self_log log{own_severity::error};
    std::unique_ptr<outputs::output_router> writer;
    ct::dispatcher::node_name_registry names;
    metrics::node_directory directory;
    std::unique_ptr<session_context> ctx;
    std::unique_ptr<child_process> node;

    session_fixture() {
        outputs::writer_options o;
        o.sections = {{(dir / "logs").string(),
                       ct::config::log_mode::file_mode,
                       ct::config::log_format::for_machine}};
        writer = std::make_unique<outputs::output_router>(o);
        writer->start();
        ctx = std::make_unique<session_context>(log, *writer, names, directory);
        auto settings = std::make_shared<session_settings>();
        settings->network_magic = 42;
        settings->ekg_period = 10ms;
        ctx->set_settings(settings);
        node = std::make_unique<child_process>(CT_FORWARDER_EXE,
                                               std::vector<std::string>{"--accept",
                                                                        "node.sock",
                                                                        "--network-magic",
                                                                        "42",
                                                                        "--name",
                                                                        "n",
                                                                        "--rate",
                                                                        "500",
                                                                        "--duration",
                                                                        "60"},
                                               dir.path(),
                                               "node",
                                               dir.path());
    }
    ~session_fixture() { node->signal(SIGTERM); }

    // Connects to the simulated node and runs one session until the io_context runs out of
    // work (the session ended as a whole); false if it did not within the bound.
    bool run_one_session() {
        boost::asio::io_context ioc;
        auto strand = boost::asio::make_strand(ioc);
        boost::asio::local::stream_protocol::socket s(strand);
        // The node binds (the file appears) before it listens: until then a connect is
        // refused, so the wait is for a connection, not for the file.
        const bool connected = wait_until([&] {
            boost::system::error_code ec;
            if (s.is_open()) s.close(ec);
            s.connect((dir / "node.sock").string(), ec);
            return !ec;
        });
        if (!connected) return false;
        stream_socket sock(
            strand, boost::asio::generic::stream_protocol(AF_UNIX, SOCK_STREAM), s.release());
        peer_info peer;
        peer.connection_id = 7;
        peer.we_connected = true;
        peer.local_path = (dir / "node.sock").string();
        peer.address = peer.local_path;
        peer.node_id = "nodesock";
        bool ended = false;
        boost::asio::co_spawn(strand,
                              run_session(std::move(sock), peer, *ctx),
                              [&](std::exception_ptr) { ended = true; });
        ioc.run_for(20s);
        return ended;
    }
};

TEST(Session, AnExceptionInOneLoopEndsTheWholeSessionAndReleasesEverything) {
    for (const char* loop : {"delivery", "ekg"}) {
        SCOPED_TRACE(loop);
        session_fixture f;
        int turns = 0;
        f.ctx->fault_injection = [&](std::string_view where) {
            if (where == loop && ++turns == 3) throw std::runtime_error("injected fault");
        };
        ASSERT_TRUE(f.run_one_session()) << "the other loops kept the session alive";
        EXPECT_EQ(f.ctx->counters.session_errors[static_cast<std::size_t>(session_error::internal)],
                  1u);
        EXPECT_EQ(f.ctx->counters.connections_active, 0u);
        EXPECT_EQ(f.ctx->sessions.size(), 0u);
        EXPECT_TRUE(f.directory.list().empty());
        // The name is free again: a new connection gets it, not a fallback.
        EXPECT_EQ(f.names.claim("n", "other-id"), "n");
    }
}

}  // namespace
