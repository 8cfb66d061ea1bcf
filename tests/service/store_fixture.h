// StoreTest: a Store on a fresh file in a temporary folder, with helpers to
// submit a spec and to make a successful result. Shared by the store's and
// the results reader's tests.
#pragma once

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/store.h"

namespace sic {

// SQL that takes a current file back to schema 3 (what migrations 4 to 10
// added, taken out again; attempts keyed as before), for migration tests.
inline const char* const kBackToSchema3 = R"sql(
ALTER TABLE sweeps DROP COLUMN preempt;
DROP TABLE quotas;
ALTER TABLE artifacts DROP COLUMN step;
DROP TABLE audit;
DROP TABLE tokens;
DROP INDEX trials_by_class_status;
ALTER TABLE trials DROP COLUMN device_class;
ALTER TABLE trials DROP COLUMN needs;
ALTER TABLE sweeps DROP COLUMN owner;
ALTER TABLE sweeps DROP COLUMN priority;
ALTER TABLE sweeps DROP COLUMN max_running;
DROP TABLE evals;
DROP TABLE discards;
DROP TABLE rungs;
DROP INDEX trials_by_sweep_status;
ALTER TABLE trials DROP COLUMN target_steps;
ALTER TABLE trials DROP COLUMN steps_done;
ALTER TABLE sweeps DROP COLUMN adaptive;
ALTER TABLE sweeps DROP COLUMN planned;
ALTER TABLE sweeps DROP COLUMN settled;
DROP TABLE dead_letters;
DROP INDEX trials_by_status_enqueued;
ALTER TABLE trials DROP COLUMN ticket;
ALTER TABLE trials DROP COLUMN enqueued_at;
DROP TABLE sequences;
CREATE TABLE attempts_v3 (
  trial_id INTEGER NOT NULL REFERENCES trials(id), round INTEGER NOT NULL, delivery INTEGER NOT NULL,
  worker TEXT NOT NULL, started_at REAL NOT NULL, finished_at REAL, outcome TEXT, error TEXT,
  PRIMARY KEY (trial_id, round, delivery));
INSERT INTO attempts_v3 SELECT trial_id, round, delivery, worker, started_at, finished_at, outcome, error FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_v3 RENAME TO attempts;
PRAGMA user_version = 3;
)sql";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sic-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sic.db";
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = Store::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s.value());
  }
  int64_t Submit(const char* spec) {
    auto sweep = ParseSweepSpec(spec);
    EXPECT_TRUE(sweep.ok()) << sweep.status().message();
    auto id = store_->CreateSweep(sweep.value(), 100.0);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? id.value() : -1;
  }
  TrialResult Success(int64_t trial, int64_t round, int64_t delivery, double loss) {
    TrialResult r;
    r.trial_id = trial;
    r.round = round;
    r.delivery = delivery;
    r.worker = "w" + std::to_string(delivery);
    r.ok = true;
    r.metrics = {{"loss.total", loss}, {"grid.score", std::nan("")}};
    r.curve = {{10, 2.0, 1, 1, 1, 1, 1e-3}, {20, 1.5, 1, 1, 1, 1, 1e-3}};
    r.artifacts = {{"ratemap.png", "image/png", std::string("\x89PNG\0\1", 6)}};
    r.started_at = 101;
    r.finished_at = 102;
    return r;
  }

  std::string dir_, path_;
  std::unique_ptr<Store> store_;
};

}  // namespace sic
