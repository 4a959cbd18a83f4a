// Naming rules of spec §4 with the worked examples, and the safety of directory names.
#include "dispatcher/node_names.hpp"

#include <gtest/gtest.h>

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
}

TEST(Sanitize, Rules) {
    EXPECT_EQ(sanitize_node_name("relay-1"), "relay-1");
    EXPECT_EQ(sanitize_node_name("127.0.0.1:30004"), "127.0.0.1_30004");
    EXPECT_EQ(sanitize_node_name("tmp-forwardersock@0"), "tmp-forwardersock_0");
    EXPECT_EQ(sanitize_node_name("  *my node?* "), "my_node");
    EXPECT_EQ(sanitize_node_name("a'b\"c\td"), "a_b_c_d");
    EXPECT_EQ(sanitize_node_name("--x--"), "x");
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
    EXPECT_EQ(slugify("n\xc3\xa9ud"), "nud");
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
}

}  // namespace
