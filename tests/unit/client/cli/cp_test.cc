// dockline cp's extraction against a server posing as docklined: archives a real daemon never
// sends (entries climbing out of DEST) must be refused before anything lands outside DEST.
#include <archive.h>
#include <archive_entry.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "client/cli/cli.h"
#include "dockline/v1/dockline.grpc.pb.h"

namespace dockline {
namespace {

// A tar of (name, content) entries; a name ending in '/' is a directory.
std::string Tar(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out(1 << 20, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_memory(a, out.data(), out.size(), &used);
  for (const auto& [name, content] : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    const bool dir = name.ends_with('/');
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_write_header(a, e);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

class ArchiveServer final : public v1::Dockline::Service {
 public:
  grpc::Status CopyFromContainer(grpc::ServerContext*, const v1::CopyFromContainerRequest*,
                                 grpc::ServerWriter<v1::CopyFromContainerResponse>* w) override {
    v1::CopyFromContainerResponse msg;
    msg.mutable_stat()->set_name("f");
    msg.mutable_stat()->set_is_dir(true);
    msg.mutable_stat()->set_mode((1u << 31) | 0755);
    w->Write(msg);
    msg.set_data(tar);
    w->Write(msg);
    return grpc::Status::OK;
  }
  std::string tar;
};

class CpExtractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
    char tmpl[] = "/tmp/dl-cp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/in/dest");
  }
  void TearDown() override {
    server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  int Cp(const std::string& dest, std::string* err) {
    std::ostringstream out;
    std::ostringstream errors;
    int code = cli::Main(
        {"--addr", address_, "cp", "c:/f", dest},
        [](const std::string&) { return std::optional<std::string>(); }, out, errors);
    *err = errors.str();
    return code;
  }

  ArchiveServer service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::string dir_;
};

TEST_F(CpExtractTest, EntriesClimbingOutOfDestAreRefusedAndNothingLandsOutside) {
  for (const char* evil : {"../evil", "f/../../evil", "f/sub/../../../evil"}) {
    SCOPED_TRACE(evil);
    service_.tar = Tar({{"f/", ""}, {"f/ok", "ok"}, {evil, "pwned"}});
    std::string err;
    EXPECT_EQ(Cp(dir_ + "/in/dest", &err), cli::kExitCommandFailed);
    EXPECT_NE(err.find("refusing archive entry"), std::string::npos) << err;
    for (const char* outside : {"/evil", "/in/evil", "/in/dest/evil"}) {
      EXPECT_FALSE(std::filesystem::exists(dir_ + outside)) << outside;
    }
  }
}

TEST_F(CpExtractTest, ARegularArchiveLandsAsDockerCpPutsIt) {
  service_.tar = Tar({{"f/", ""}, {"f/ok", "ok"}});
  std::string err;
  // A DEST that does not exist takes SRC's content; an existing directory gets SRC inside it.
  ASSERT_EQ(Cp(dir_ + "/in/fresh", &err), 0) << err;
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ + "/in/fresh/ok"));
  ASSERT_EQ(Cp(dir_ + "/in/dest", &err), 0) << err;
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ + "/in/dest/f/ok"));
}

}  // namespace
}  // namespace dockline
