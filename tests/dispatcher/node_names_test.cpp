// Naming rules of spec §4 with the worked examples, and the safety of directory names.
#include "dispatcher/node_names.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace {

using namespace ct::dispatcher;

TEST(NodeId, WorkedExamples) {
    EXPECT_EQ(node_id_for_accepted_path("/tmp/forwarder.sock", 0), "tmp-forwardersock@0");
    EXPECT_EQ(node_id_for_accepted_path("tracer.sock", 0), "tracersock@0");
    EXPECT_EQ(node_id_for_accepted_path("/tmp/forwarder.sock", 12), "tmp-forwardersock@12");
    EXPECT_EQ(node_id_for_connected_path("/tmp/cardano-node-1.sock"), "tmp-cardano-node-1sock");
    EXPECT_EQ(node_id_for_tcp("127.0.0.1:53422"), "127001:53422");
    EXPECT_EQ(node_id_for_connected_path("/run/pipes/x.sock"), "run-s-xsock")
        << "upstream deletes \"pipe\"";
    EXPECT_EQ(node_id_for_tcp("[::1]:3001"), "[::1]:3001");
    EXPECT_EQ(node_id_for_tcp("[2001:db8::1]:40000"), "[2001:db8::1]:40000");
}

TEST(NodeId, RewriteSteps) {
    // Step 5 deletes "--" pairs left to right without re-scanning, so "---" leaves one '-'.
    EXPECT_EQ(node_id_from_rendering("a---b"), "a-b");
    EXPECT_EQ(node_id_from_rendering("a----b"), "ab");
    // Step 6 drops only one dash at each end, the trailing one first.
    EXPECT_EQ(node_id_from_rendering("LocalAddress \"/x/\""), "x");
    EXPECT_EQ(node_id_from_rendering("a\\b c"), "a-b-c");
    EXPECT_EQ(node_id_from_rendering("pipepipe.x"), "x");
    EXPECT_EQ(node_id_from_rendering(""), "");
}

TEST(Sanitize, Rules) {
    EXPECT_EQ(sanitize_node_name("relay-1"), "relay-1");
    EXPECT_EQ(sanitize_node_name("127.0.0.1:30004"), "127.0.0.1_30004");
    EXPECT_EQ(sanitize_node_name("tmp-forwardersock@0"), "tmp-forwardersock_0");
    EXPECT_EQ(sanitize_node_name("  *my node?* "), "my_node");
    EXPECT_EQ(sanitize_node_name("a'b\"c\td"), "a_b_c_d");
    EXPECT_EQ(sanitize_node_name("--x--"), "x");
    EXPECT_EQ(sanitize_node_name("n\xc5\x93ud"), "n\xc5\x93ud");
    EXPECT_EQ(sanitize_node_name("\xe7\xaf\x80"), "\xe7\xaf\x80") << "non-ASCII letters stay";
    EXPECT_EQ(sanitize_node_name("**??"), "");
}

TEST(Slugify, Examples) {
    EXPECT_EQ(slugify("relay-1"), "relay-1");
    EXPECT_EQ(slugify("TxGenerator"), "txgenerator");
    EXPECT_EQ(slugify("127.0.0.1:30004"), "12700130004");
    EXPECT_EQ(slugify("127.0.0.1_30004"), "127001-30004");
    EXPECT_EQ(slugify("myhost_3001"), "myhost-3001");
    EXPECT_EQ(slugify("tmp-forwardersock@0"), "tmp-forwardersock0");
    EXPECT_EQ(slugify("127001:53422"), "12700153422");
    EXPECT_EQ(slugify("a_b"), "a-b");
    EXPECT_EQ(slugify("--Ab  c__"), "ab-c");
    EXPECT_EQ(slugify("n\xc3\xa9ud"), "neud") << "NFKD: e + combining accent";
    EXPECT_EQ(slugify("\xc3\x85ngstr\xc3\xb6m \xc5\x81\xc3\xb3"
                      "d\xc5\xba"),
              "angstrom-odz")
        << "L with stroke has no decomposition";
    EXPECT_EQ(slugify("\xef\xbc\xa1\xef\xbc\x91"), "a1") << "fullwidth forms";
    EXPECT_EQ(slugify("a\xc2\xa0"
                      "b"),
              "a-b")
        << "no-break space is a space under NFKD";
    EXPECT_EQ(slugify("\xe7\xaf\x80\xe7\x82\xb9"), "");
    EXPECT_EQ(slugify("x\xff\xfey"), "xy") << "invalid UTF-8 is dropped";
}

TEST(LogDirectory, WorkedExamplesAndSafety) {
    EXPECT_EQ(log_directory_name("relay-1"), "relay-1");
    EXPECT_EQ(log_directory_name("127.0.0.1:30004"), "127.0.0.1_30004");
    EXPECT_EQ(log_directory_name("myhost_3001"), "myhost_3001");
    EXPECT_EQ(log_directory_name("tmp-forwardersock@0"), "tmp-forwardersock_0");
    EXPECT_EQ(log_directory_name("127001:53422"), "127001_53422");
    EXPECT_EQ(log_directory_name("../../etc/passwd"), "passwd");
    EXPECT_EQ(log_directory_name(".."), "node");
    EXPECT_EQ(log_directory_name("a/.."), "a") << "sanitize strips the trailing dots first";
    EXPECT_EQ(log_directory_name(std::string("x\0y", 3)), "xy");
    EXPECT_EQ(log_directory_name("evil\nname"), "evil_name");
    EXPECT_EQ(log_directory_name(std::string(5000, 'a')).size(), 200u);
    std::string long_utf8 = "a";
    for (int i = 0; i < 150; ++i) long_utf8 += "\xc3\xa9";
    const auto cut = log_directory_name(long_utf8);
    EXPECT_EQ(cut.size(), 199u) << "never splits a UTF-8 sequence";
    EXPECT_EQ(log_directory_name("a\\b"), "ab");
    EXPECT_EQ(log_directory_name("x/./.."), "x") << "sanitize strips trailing dots and slashes";
    EXPECT_EQ(log_directory_name("/..."), "node");
    for (auto n : {"/", "//", "./", "a/b/", "\x01\x02", "...", "@@"}) {
        auto d = log_directory_name(n);
        EXPECT_FALSE(d.empty()) << n;
        EXPECT_EQ(d.find('/'), std::string::npos) << n;
        EXPECT_NE(d, ".");
        EXPECT_NE(d, "..");
    }
}

TEST(NodeNameRegistry, CollisionsGetDistinctNames) {
    node_name_registry r;
    EXPECT_EQ(r.claim("relay", "id-a"), "relay");
    EXPECT_EQ(r.claim("relay", "id-b"), "id-b");
    EXPECT_EQ(r.claim("relay", "id-a"), "relay") << "a node keeps its name";
    EXPECT_EQ(r.claim("id-b", "id-c"), "id-c");
    r.release("id-a");
    EXPECT_EQ(r.claim("relay", "id-d"), "relay");
    EXPECT_EQ(r.claim("", "id-e"), "id-e");
    EXPECT_EQ(r.size(), 4u);
    EXPECT_EQ(r.name_of("id-b"), "id-b");
    EXPECT_EQ(r.name_of("unknown"), "");
}

TEST(NodeNameRegistry, NodeIdTakenTooGetsCounter) {
    node_name_registry r;
    EXPECT_EQ(r.claim("relay", "id-a"), "relay");
    EXPECT_EQ(r.claim("id-b", "id-x"), "id-b");
    EXPECT_EQ(r.claim("relay", "id-b"), "id-b-2");
    EXPECT_EQ(r.claim("relay", "id-b"), "id-b-2");
}

TEST(NodeNameRegistry, SameDirectoryOrSlugCounts) {
    node_name_registry r;
    // Different names, same directory (sanitize turns ':' into '_').
    EXPECT_EQ(r.claim("host_3001", "id-a"), "host_3001");
    EXPECT_EQ(r.claim("host:3001", "id-b"), "id-b");
    // Different directories, same slug ("relay_1" and "relay-1" are both /relay-1).
    EXPECT_EQ(r.claim("relay-1", "id-c"), "relay-1");
    EXPECT_EQ(r.claim("relay_1", "id-d"), "id-d");
    // Released names free their directory and slug too.
    r.release("id-a");
    r.release("id-c");
    EXPECT_EQ(r.claim("host:3001", "id-e"), "host:3001");
    EXPECT_EQ(r.claim("relay_1", "id-f"), "relay_1");
    // Names whose directories fall back to "node" get distinct ones.
    EXPECT_EQ(r.claim("..", "id-g"), "..");
    EXPECT_EQ(r.claim("/", "id-h"), "id-h");
}

TEST(NodeNameRegistry, ConcurrentClaimsGiveDistinctNamesAndDirectories) {
    node_name_registry r;
    constexpr int threads = 4, per_thread = 200;
    std::vector<std::vector<std::string>> got(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                got[static_cast<std::size_t>(t)].push_back(
                    r.claim("relay", "id-" + std::to_string(t) + "-" + std::to_string(i)));
            }
        });
    }
    for (auto& th : pool) th.join();
    std::set<std::string> names, dirs;
    for (const auto& v : got) {
        for (const auto& n : v) {
            names.insert(n);
            dirs.insert(log_directory_name(n));
        }
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(threads * per_thread));
    EXPECT_EQ(dirs.size(), names.size());
    EXPECT_TRUE(names.contains("relay"));
    EXPECT_EQ(r.size(), names.size());
}

}  // namespace
