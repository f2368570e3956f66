#include "channels/blob_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/crypto.h"

namespace kefu::channels {
namespace {

namespace fs = std::filesystem;

// The same contract on both implementations.
class BlobStoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = std::make_unique<MemoryBlobStore>();
    } else {
      dir_ = fs::temp_directory_path() / ("kefu_blobs_" + std::to_string(::getpid()) + "_" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
      fs::remove_all(dir_);
      auto s = FsBlobStore::Create(dir_.string());
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      store_ = std::move(*s);
    }
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::unique_ptr<BlobStore> store_;
  fs::path dir_;
};

TEST_P(BlobStoreContract, KeyIsTheContentHashAndRoundTrips) {
  const std::string bytes("\x89PNG\r\n\x1a\n binary \0 data", 24);
  auto key = store_->Put("demo", bytes);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(*key, crypto::Sha256Hex(bytes));
  EXPECT_TRUE(ValidBlobKey(*key));
  auto got = store_->Get("demo", *key);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, bytes);
  // Storing the same bytes again is the same blob.
  auto again = store_->Put("demo", bytes);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *key);
}

TEST_P(BlobStoreContract, TenantsNeverSeeEachOthersBlobs) {
  auto key = store_->Put("shop-a", "secret picture");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(store_->Get("shop-b", *key).status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->Get("shop-a", *key).ok());
}

TEST_P(BlobStoreContract, BadKeysAndTenantsAreRefused) {
  EXPECT_EQ(store_->Get("demo", "../../etc/passwd").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Get("demo", std::string(64, 'g')).status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(store_->Put("../evil", "x").ok());
  EXPECT_FALSE(store_->Put("", "x").ok());
  EXPECT_FALSE(store_->Put("a/b", "x").ok());
}

TEST_P(BlobStoreContract, DeleteRemoves) {
  auto key = store_->Put("demo", "to be deleted");
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(store_->Delete("demo", *key).ok());
  EXPECT_EQ(store_->Get("demo", *key).status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(store_->Delete("demo", *key).ok());  // deleting twice is fine
}

INSTANTIATE_TEST_SUITE_P(Both, BlobStoreContract, ::testing::Values("memory", "filesystem"));

TEST(FsBlobStore, WritesAtomicallyAndLeavesNoTemporaryFiles) {
  const fs::path dir = fs::temp_directory_path() / ("kefu_blobs_atomic_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto s = FsBlobStore::Create(dir.string());
  ASSERT_TRUE(s.ok());
  const std::string bytes(300 * 1024, 'x');
  auto key = (*s)->Put("demo", bytes);
  ASSERT_TRUE(key.ok());
  const fs::path file = dir / "demo" / key->substr(0, 2) / *key;
  EXPECT_TRUE(fs::exists(file));
  EXPECT_EQ(fs::file_size(file), bytes.size());
  EXPECT_TRUE(fs::is_empty(dir / "tmp"));
  // A blob torn by a crash would be a temp file, never a half blob in place:
  // a leftover temp file is not visible as a blob.
  { std::ofstream(dir / "tmp" / (*key + ".dead")) << "half"; }
  auto got = (*s)->Get("demo", *key);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), bytes.size());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kefu::channels
