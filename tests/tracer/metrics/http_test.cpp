// The Beast server on real sockets: routes over HTTP, limits, a slow client, TLS.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <thread>

#include "tests/support/test_support.hpp"
#include "tracer/metrics/http_server.hpp"

namespace {

using namespace ct::tracer::metrics;
using namespace ct::test;

struct server_fixture {
    boost::asio::io_context ioc;
    std::unique_ptr<http_server> server;
    std::thread thread;
    explicit server_fixture(std::optional<tls_files> tls = std::nullopt,
                            std::size_t max_connections = 256) {
        server = std::make_unique<http_server>(
            ioc,
            "test endpoint",
            "127.0.0.1",
            0,
            [](const http_request& r) {
                return http_response{
                    200, "text/plain", "you asked for " + r.target + " accept=" + r.accept};
            },
            tls,
            http_limits{8 * 1024, 1024, std::chrono::seconds(2), max_connections});
        server->start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~server_fixture() {
        ioc.stop();
        thread.join();
    }
};

TEST(HttpServer, ServesRequestsOnPortZero) {
    server_fixture f;
    auto r = http_get(f.server->port(), "/relay-1/metrics", {"Accept: text/plain"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "you asked for /relay-1/metrics accept=text/plain");
    EXPECT_NE(r->headers.find("Content-Type: text/plain"), std::string::npos);
}

TEST(HttpServer, SlowClientDoesNotBlockOthers) {
    server_fixture f;
    // A client that connects and sends half a request, then nothing.
    boost::asio::io_context cio;
    boost::asio::ip::tcp::socket slow(cio);
    slow.connect({boost::asio::ip::make_address("127.0.0.1"), f.server->port()});
    boost::asio::write(slow, boost::asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n")));
    const auto t0 = std::chrono::steady_clock::now();
    auto r = http_get(f.server->port(), "/ok");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
    // The idle limit (2 s here) closes the slow connection.
    char c;
    boost::system::error_code ec;
    slow.read_some(boost::asio::buffer(&c, 1), ec);
    EXPECT_TRUE(ec);
}

// A keep-alive client answered once, so the server surely holds its connection.
std::unique_ptr<boost::asio::ip::tcp::socket> keep_alive_client(boost::asio::io_context& cio,
                                                                std::uint16_t port) {
    auto s = std::make_unique<boost::asio::ip::tcp::socket>(cio);
    s->connect({boost::asio::ip::make_address("127.0.0.1"), port});
    boost::asio::write(*s, boost::asio::buffer(std::string("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")));
    std::string reply;
    char buf[512];
    while (reply.find("you asked for /x") == std::string::npos) {
        boost::system::error_code ec;
        const auto n = s->read_some(boost::asio::buffer(buf), ec);
        if (ec) return nullptr;
        reply.append(buf, n);
    }
    return s;
}

// Regression (use after free at shutdown): stop() must close idle keep-alive clients and
// half-sent requests so that the io_context runs out of work; before, they stayed until the
// idle limit and were destroyed with the io_context.
TEST(HttpServer, StopClosesEveryConnectionAndTheContextRunsOutOfWork) {
    boost::asio::io_context ioc;
    http_server server(
        ioc,
        "test endpoint",
        "127.0.0.1",
        0,
        [](const http_request& r) {
            return http_response{200, "text/plain", "you asked for " + r.target};
        },
        std::nullopt,
        http_limits{8 * 1024, 1024, std::chrono::seconds(300), 16});
    server.start();
    std::atomic<bool> returned{false};
    std::thread t([&] {
        ioc.run();
        returned = true;
    });
    boost::asio::io_context cio;
    auto idle = keep_alive_client(cio, server.port());
    ASSERT_TRUE(idle);
    boost::asio::ip::tcp::socket half(cio);
    half.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
    boost::asio::write(half, boost::asio::buffer(std::string("GET / HTTP/1.1\r\nHo")));
    ASSERT_TRUE(wait_until([&] { return server.open_connections() == 2; }));
    server.stop();
    EXPECT_TRUE(wait_until([&] { return returned.load(); }));
    if (!returned) ioc.stop();
    t.join();
    EXPECT_EQ(server.open_connections(), 0u);
    // Both clients see their connection closed.
    char c;
    boost::system::error_code ec;
    idle->read_some(boost::asio::buffer(&c, 1), ec);
    EXPECT_TRUE(ec);
    half.read_some(boost::asio::buffer(&c, 1), ec);
    EXPECT_TRUE(ec);
}

// Regression: a server destroyed before its io_context while a session is suspended (the
// frame is destroyed by ~io_context). Under ASan this was a heap-use-after-free.
TEST(HttpServer, DestroyedBeforeItsContextWithASuspendedSession) {
    auto ioc = std::make_unique<boost::asio::io_context>();
    auto server = std::make_unique<http_server>(
        *ioc, "test endpoint", "127.0.0.1", 0, [](const http_request& r) {
            return http_response{200, "text/plain", "you asked for " + r.target};
        });
    server->start();
    std::thread t([&] { ioc->run(); });
    boost::asio::io_context cio;
    auto idle = keep_alive_client(cio, server->port());
    ASSERT_TRUE(idle);
    ASSERT_TRUE(wait_until([&] { return server->open_connections() == 1; }));
    ioc->stop();  // frames stay suspended inside the context
    t.join();
    server.reset();
    ioc.reset();  // destroys the suspended frames: they must not touch freed memory
    SUCCEED();
}

// stop() from another thread while clients keep connecting and asking.
TEST(HttpServer, StopWhileClientsAreBusyIsClean) {
    boost::asio::io_context ioc;
    http_server server(ioc, "test endpoint", "127.0.0.1", 0, [](const http_request& r) {
        return http_response{200, "text/plain", "you asked for " + r.target};
    });
    server.start();
    std::atomic<bool> returned{false};
    std::thread t([&] {
        ioc.run();
        returned = true;
    });
    std::atomic<bool> done{false};
    std::vector<std::thread> clients;
    for (int i = 0; i < 4; ++i) {
        clients.emplace_back([&] {
            while (!done) (void)http_get(server.port(), "/busy");
        });
    }
    ASSERT_TRUE(wait_until([&] { return server.open_connections() > 0; }));
    server.stop();
    EXPECT_TRUE(wait_until([&] { return returned.load(); }));
    done = true;
    for (auto& c : clients) c.join();
    if (!returned) ioc.stop();
    t.join();
}

TEST(HttpServer, ConnectionsBeyondTheLimitAreClosedAndRoomReturns) {
    server_fixture f(std::nullopt, 2);
    boost::asio::io_context cio;
    // Two keep-alive clients, each answered once so that the server surely holds them.
    std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> held;
    for (int i = 0; i < 2; ++i) {
        auto s = std::make_unique<boost::asio::ip::tcp::socket>(cio);
        s->connect({boost::asio::ip::make_address("127.0.0.1"), f.server->port()});
        boost::asio::write(*s,
                           boost::asio::buffer(std::string("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")));
        std::string reply;
        char buf[512];
        while (reply.find("you asked for /x") == std::string::npos) {
            boost::system::error_code ec;
            const auto n = s->read_some(boost::asio::buffer(buf), ec);
            ASSERT_FALSE(ec) << ec.message();
            reply.append(buf, n);
        }
        held.push_back(std::move(s));
    }
    auto refused = http_get(f.server->port(), "/third");
    EXPECT_TRUE(!refused || refused->status == 0) << "a third connection was served";
    held.front()->close();  // room for one more
    EXPECT_TRUE(wait_until([&] {
        auto r = http_get(f.server->port(), "/again");
        return r && r->status == 200;
    }));
}

TEST(HttpServer, OversizedHeadersAreRefused) {
    server_fixture f;
    auto r = http_get(f.server->port(), "/", {"X-Big: " + std::string(20000, 'a')});
    EXPECT_TRUE(!r || r->status >= 400);
}

TEST(HttpServer, BindFailureNamesTheEndpoint) {
    server_fixture f;
    boost::asio::io_context other;
    try {
        http_server second(
            other, "hasPrometheus", "127.0.0.1", f.server->port(), [](const http_request&) {
                return http_response{};
            });
        FAIL() << "bound twice";
    } catch (const endpoint_error& e) {
        EXPECT_NE(std::string(e.what()).find("hasPrometheus"), std::string::npos);
    }
}

TEST(HttpServer, TlsFailsClosedAndServesWithACertificate) {
    temp_dir d;
    boost::asio::io_context io;
    EXPECT_THROW(http_server(
                     io,
                     "hasPrometheus",
                     "127.0.0.1",
                     0,
                     [](const http_request&) { return http_response{}; },
                     tls_files{(d / "missing.pem").string(), (d / "missing.key").string(), {}}),
                 endpoint_error);
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " +
                            (d / "key.pem").string() + " -out " + (d / "cert.pem").string() +
                            " -days 1 -subj /CN=localhost > /dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    server_fixture f(tls_files{(d / "cert.pem").string(), (d / "key.pem").string(), {}});
    // Plain HTTP to a TLS port gets no HTTP answer.
    auto plain = http_get(f.server->port(), "/");
    EXPECT_TRUE(!plain || plain->status == 0);
    const std::string curl = "curl -sk https://127.0.0.1:" + std::to_string(f.server->port()) +
                             "/tls > " + (d / "out").string() + " 2>&1";
    ASSERT_EQ(std::system(curl.c_str()), 0);
    EXPECT_EQ(read_file(d / "out"), "you asked for /tls accept=*/*");

    // certificateChain files must hold PEM certificates; a missing or empty one fails the start.
    write_file(d / "not-a-chain.pem", "no certificate here\n");
    const auto with_chain = [&](const std::string& chain) {
        try {
            http_server s(
                io,
                "hasPrometheus",
                "127.0.0.1",
                0,
                [](const http_request&) { return http_response{}; },
                tls_files{(d / "cert.pem").string(), (d / "key.pem").string(), {chain}});
            return std::string("started");
        } catch (const endpoint_error& e) {
            return std::string(e.what());
        }
    };
    EXPECT_NE(with_chain((d / "not-a-chain.pem").string()).find("no PEM certificate"),
              std::string::npos);
    EXPECT_NE(with_chain((d / "missing-chain.pem").string()).find("cannot read certificate chain"),
              std::string::npos);
    EXPECT_EQ(with_chain((d / "cert.pem").string()), "started");
}

}  // namespace
