#include "server/codec/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace dockline::server {
namespace {

TEST(ParseMemoryTest, DockerPyForms) {
  struct Case {
    const char* text;
    int64_t bytes;
  } cases[] = {
      {"512m", 536870912},
      {"1.5g", 1610612736},
      {"0.5k", 512},
      {"512mb", 536870912},
      {"1024", 1024},
      {"1G", 1073741824},
      {"1Gb", 1073741824},
      {"1GB", 1073741824},
      {"128k", 131072},
      {"128K", 131072},
      {"100b", 100},
      {"100B", 100},
      {"1073741824", 1073741824},
      {"0", 0},
      {"1.5", 1},
      {".5k", 512},
      {"5.k", 5120},
      {"2.75m", 2883584},
      {"0.1k", 102},
  };
  for (const Case& c : cases) {
    int64_t bytes = -1;
    grpc::Status status = ParseMemory(c.text, &bytes);
    EXPECT_TRUE(status.ok()) << c.text << ": " << status.error_message();
    EXPECT_EQ(bytes, c.bytes) << c.text;
  }
}

TEST(ParseMemoryTest, LargestValues) {
  int64_t bytes = 0;
  ASSERT_TRUE(ParseMemory("9223372036854775807", &bytes).ok());
  EXPECT_EQ(bytes, INT64_MAX);
  ASSERT_TRUE(ParseMemory("8589934591g", &bytes).ok());
  EXPECT_EQ(bytes, int64_t{8589934591} << 30);
}

TEST(ParseMemoryTest, Refused) {
  for (const char* text :
       {"1t",     "12x", "",    "-5m", "abc", "m",    "mb",  "b",   ".",   "1..5m",
        "1.5.5g", " 5m", "5m ", "5 m", "1e3", "0x10", "+5m", "5bb", "5kk", "1,5g"}) {
    int64_t bytes = 77;
    grpc::Status status = ParseMemory(text, &bytes);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << text;
    EXPECT_EQ(status.error_message().rfind("spec.memory: ", 0), 0u) << status.error_message();
    EXPECT_NE(status.error_message().find("\"" + std::string(text) + "\""), std::string::npos)
        << status.error_message();
    EXPECT_EQ(bytes, 77) << text;
  }
}

TEST(ParseMemoryTest, Overflow) {
  for (const char* text :
       {"9223372036854775808", "8589934592g", "99999999999999999999999999", "9007199254740992k"}) {
    int64_t bytes = 77;
    grpc::Status status = ParseMemory(text, &bytes);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << text;
    EXPECT_NE(status.error_message().find("too large"), std::string::npos)
        << status.error_message();
    EXPECT_EQ(bytes, 77);
  }
}

// The verified docker-py body of ENGINE_NOTES §2.1, as this spec produces it. Differences from
// docker-py's: no NetworkDisabled, no malformed NetworkingConfig, no StartPeriod:0, and
// AutoRemove always stated.
TEST(ValidateSignalTest, Accepted) {
  for (const char* signal :
       {"SIGTERM",  "TERM",     "sigterm",    "Term",     "SIGKILL",  "KILL",
        "9",        "1",        "64",         "SIGINT",   "SIGUSR1",  "USR2",
        "SIGWINCH", "SIGRTMIN", "SIGRTMIN+3", "RTMIN+15", "SIGRTMAX", "SIGRTMAX-14",
        "SIGCHLD",  "SIGHUP",   "SIGQUIT",    "SIGSTOP",  "SIGCONT"}) {
    EXPECT_TRUE(ValidateSignal("signal", signal).ok()) << signal;
  }
}

TEST(ValidateSignalTest, Refused) {
  for (const char* signal :
       {"", "SIGBOGUS", "0", "65", "999999999999999999999", "SIG", "SIG9", "TERM ", " TERM",
        "RTMIN+0", "RTMIN+16", "RTMAX+1", "RTMAX-15", "RTMIN-1", "9a"}) {
    grpc::Status status = ValidateSignal("signal", signal);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << signal;
    EXPECT_EQ(status.error_message().rfind("signal: ", 0), 0u) << status.error_message();
  }
  EXPECT_EQ(ValidateSignal("signal", "").error_message(), "signal: must not be empty");
}

TEST(ValidateContainerRefTest, Cases) {
  EXPECT_TRUE(ValidateContainerRef("container", "demo-full").ok());
  EXPECT_TRUE(ValidateContainerRef("container", "0dfa419d").ok());
  EXPECT_TRUE(ValidateContainerRef("container", "a.b_c-d:e").ok());
  EXPECT_EQ(ValidateContainerRef("container", "").error_message(), "container: must not be empty");
  EXPECT_EQ(ValidateContainerRef("exec_id", "").error_message(), "exec_id: must not be empty");
  for (std::string bad :
       {std::string("a/b"), std::string("/name"), std::string("x?all=1"), std::string("a#b"),
        std::string("a\nb"), std::string("a\0b", 3), std::string("tab\there")}) {
    grpc::Status status = ValidateContainerRef("container", bad);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(status.error_message().rfind("container: must not contain", 0), 0u)
        << status.error_message();
  }
  EXPECT_EQ(ValidateContainerRef("container", "a\nb").error_message(),
            "container: must not contain control characters, got \"a\\x0ab\"");
}

TEST(ValidateContainerRefTest, DotSegmentsAreRefusedAndOtherDotsPass) {
  // The daemon cleans "." and ".." out of the path it routes, even escaped.
  EXPECT_EQ(ValidateContainerRef("container", ".").error_message(),
            "container: must not be \".\" or \"..\", got \".\"");
  EXPECT_EQ(ValidateContainerRef("exec_id", "..").error_message(),
            "exec_id: must not be \".\" or \"..\", got \"..\"");
  for (const char* good : {"...", ".a", "a.", "..a", "a..b", "%2e%2e", "%2e%2e%2fimages"}) {
    EXPECT_TRUE(ValidateContainerRef("container", good).ok()) << good;
  }
}

TEST(ValidateContainerRefTest, LengthIsCappedAndTheMessageSaysAtWhat) {
  EXPECT_TRUE(ValidateContainerRef("container", std::string(kMaxContainerRefLength, 'a')).ok());
  EXPECT_EQ(kMaxContainerRefLength, 256u);
  EXPECT_EQ(ValidateContainerRef("container", std::string(257, 'a')).error_message(),
            "container: must be at most 256 bytes (a Docker id is 64 characters), got 257");
  grpc::Status huge = ValidateContainerRef("config.container", std::string(10000, '/'));
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(huge.error_message(),
            "config.container: must be at most 256 bytes (a Docker id is 64 characters), got "
            "10000");
}

TEST(ValidateContainerRefTest, NulAndOtherControlBytesAreRefused) {
  for (std::string bad : {std::string("\0", 1), std::string("ab\0", 3), std::string("a\x1b[2J"),
                          std::string("a\x7f"), std::string("a\rb")}) {
    grpc::Status status = ValidateContainerRef("exec_id", bad);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message().rfind("exec_id: must not contain control characters, got ", 0),
              0u)
        << status.error_message();
  }
}

TEST(ValidateContainerNameTest, Cases) {
  for (const char* good : {"ab", "/ab", "demo-full", "a.b_c-d", "0dfa", "A1"}) {
    EXPECT_TRUE(ValidateContainerName("name", good).ok()) << good;
  }
  for (const char* bad : {"", "a", "/a", "-ab", ".ab", "a/b", "a:b", "héllo", "a b"}) {
    EXPECT_FALSE(ValidateContainerName("name", bad).ok()) << bad;
  }
}

TEST(ValidateContainerNameTest, NamesAreHeldToTheReferenceCap) {
  // The daemon takes any length; a longer name could not be used in a later call.
  EXPECT_TRUE(ValidateContainerName("spec.name", "/" + std::string(255, 'a')).ok());
  EXPECT_TRUE(ValidateContainerName("spec.name", std::string(256, 'a')).ok());
  EXPECT_EQ(ValidateContainerName("spec.name", std::string(257, 'a')).error_message(),
            "spec.name: must be at most 256 bytes, got 257");
}

}  // namespace
}  // namespace dockline::server
