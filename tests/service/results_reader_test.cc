// The REST API's reads on a real SQLite file written by a real Store: the
// per-group running sums against sums computed here, retries replacing a
// trial's values, sorting with missing values last, filters, refused sort
// fields, the migration of a version-1 file, sweep generations, and readers
// that neither block nor see an open write transaction.
#include <sqlite3.h>

#include <cmath>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "common/results_reader.h"
#include "tests/service/store_fixture.h"

namespace sic {
namespace {

using nlohmann::json;

class ResultsReaderTest : public StoreTest {
 protected:
  std::unique_ptr<ResultsReader> Reader() {
    auto r = ResultsReader::Open(path_);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(r.value()) : nullptr;
  }
  std::vector<TrialRow> Trials(int64_t sweep) {
    auto rows = store_->ListTrials(sweep, 0, 1000);
    EXPECT_TRUE(rows.ok());
    return rows.value();
  }
  // A trial's result with one metric "score" (NaN allowed).
  TrialResult Scored(const TrialRow& t, double score, int64_t delivery = 1) {
    TrialResult r = Success(t.id, t.round, delivery, 0.5);
    r.metrics = {{"score", score}};
    return r;
  }
  const json* Group(const json& summary, const std::string& variant, const json& point) {
    for (const json& g : summary["groups"]) {
      if (g["variant"] == variant && g["point"] == point) return &g;
    }
    return nullptr;
  }
};

// Sample mean and standard deviation, computed plainly.
std::pair<double, double> MeanSd(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x / v.size();
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / (v.size() - 1))};
}

TEST_F(ResultsReaderTest, SummaryHasMeanAndSdOverSeedsPerVariantAndGridPoint) {
  const int64_t sweep = Submit(R"({"name": "s", "ablations": {"no_cap": {"loss.lambda_cap": 0}},
                                   "grid": {"loss.lambda_inv": [0.1, 0.3]}, "seeds": 3})");
  std::map<std::pair<std::string, std::string>, std::vector<double>> expected;
  int k = 0;
  for (const TrialRow& t : Trials(sweep)) {
    const double score = 0.1 * (k * k % 7) + (t.variant == "baseline" ? 1.0 : 0.0);
    ++k;
    ASSERT_TRUE(store_->RecordResult(Scored(t, score)).ok());
    expected[{t.variant, t.overrides["loss.lambda_inv"].dump()}].push_back(score);
  }
  auto summary = Reader()->Summary(sweep);
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  ASSERT_EQ(summary.value()["groups"].size(), 4u);
  EXPECT_EQ(summary.value()["groups"][0]["variant"], "baseline");  // as expanded: baseline first
  EXPECT_EQ(summary.value()["grid_keys"], json({"loss.lambda_inv"}));
  for (const auto& [key, values] : expected) {
    json point = {{"loss.lambda_inv", json::parse(key.second)}};
    if (key.first == "no_cap") point["loss.lambda_cap"] = 0;
    const json* g = Group(summary.value(), key.first, point);
    ASSERT_NE(g, nullptr) << key.first << " " << point.dump();
    EXPECT_EQ((*g)["trials"], 3);
    EXPECT_EQ((*g)["counts"]["succeeded"], 3);
    const auto [mean, sd] = MeanSd(values);
    EXPECT_EQ((*g)["metrics"]["score"]["n"], 3);
    EXPECT_NEAR((*g)["metrics"]["score"]["mean"].get<double>(), mean, 1e-12);
    EXPECT_NEAR((*g)["metrics"]["score"]["sd"].get<double>(), sd, 1e-9);
  }
}

TEST_F(ResultsReaderTest, RetriedTrialReplacesItsValuesInTheSums) {
  const int64_t sweep = Submit(R"({"name": "s", "seeds": 2})");
  auto trials = Trials(sweep);
  ASSERT_TRUE(store_->RecordResult(Scored(trials[0], 1.0)).ok());
  TrialResult failed = Scored(trials[1], 100.0);  // a failure that still reported a value
  failed.ok = false;
  failed.error = "boom";
  ASSERT_TRUE(store_->RecordResult(failed).ok());
  ASSERT_TRUE(store_->RetryFailed(sweep).ok());
  trials = Trials(sweep);
  ASSERT_TRUE(store_->RecordResult(Scored(trials[1], 3.0, 1)).ok());
  auto summary = Reader()->Summary(sweep);
  ASSERT_TRUE(summary.ok());
  const json& score = summary.value()["groups"][0]["metrics"]["score"];
  EXPECT_EQ(score["n"], 2);
  EXPECT_DOUBLE_EQ(score["mean"].get<double>(), 2.0);
  EXPECT_NEAR(score["sd"].get<double>(), std::sqrt(2.0), 1e-12);
}

TEST_F(ResultsReaderTest, NaNValuesAreCountedApartAndSdNeedsTwoValues) {
  const int64_t sweep = Submit(R"({"name": "s", "seeds": 2})");
  auto trials = Trials(sweep);
  ASSERT_TRUE(store_->RecordResult(Scored(trials[0], 0.25)).ok());
  ASSERT_TRUE(store_->RecordResult(Scored(trials[1], std::nan(""))).ok());
  auto summary = Reader()->Summary(sweep);
  ASSERT_TRUE(summary.ok());
  const json& score = summary.value()["groups"][0]["metrics"]["score"];
  EXPECT_EQ(score["n"], 1);
  EXPECT_EQ(score["nan"], 1);
  EXPECT_DOUBLE_EQ(score["mean"].get<double>(), 0.25);
  EXPECT_TRUE(score["sd"].is_null());
}

TEST_F(ResultsReaderTest, SortsByMetricWithMissingValuesLastAndFilters) {
  const int64_t sweep = Submit(R"({"name": "s", "ablations": {"a": {"loss.lambda_cap": 0}}, "seeds": 3})");
  auto trials = Trials(sweep);  // baseline 0..2, a 3..5
  const double scores[] = {0.3, 0.9, 0.1, 0.5, std::nan(""), 0.7};
  for (size_t i = 0; i < trials.size(); ++i) {
    if (i == 2) continue;  // still queued: no metric
    ASSERT_TRUE(store_->RecordResult(Scored(trials[i], scores[i])).ok());
  }
  auto reader = Reader();
  auto id = [&](int i) { return trials[i].id; };
  TrialQuery q;
  q.sort = "score";
  EXPECT_EQ(reader->TrialOrder(sweep, q).value(), (std::vector<int64_t>{id(0), id(3), id(5), id(1), id(2), id(4)}));
  q.descending = true;  // missing and NaN stay last, in index order
  EXPECT_EQ(reader->TrialOrder(sweep, q).value(), (std::vector<int64_t>{id(1), id(5), id(3), id(0), id(2), id(4)}));
  q.variant = "a";
  EXPECT_EQ(reader->TrialOrder(sweep, q).value(), (std::vector<int64_t>{id(5), id(3), id(4)}));
  q = TrialQuery();
  q.statuses = {"pending"};
  EXPECT_EQ(reader->TrialOrder(sweep, q).value(), (std::vector<int64_t>{id(2)}));
  q.sort = "name";
  q.statuses = {};
  q.descending = true;
  ASSERT_EQ(trials[2].name, "baseline/seed=2");  // the greatest name
  EXPECT_EQ(reader->TrialOrder(sweep, q).value().front(), id(2));

  q.sort = "score; DROP TABLE trials";
  auto bad = reader->TrialOrder(sweep, q);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("sort: ", 0), 0u) << bad.status().message();
  EXPECT_EQ(Trials(sweep).size(), 6u);

  auto page = reader->TrialsById({id(1), id(0)});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ(page.value()[0]["id"], id(1));  // the order asked for
  EXPECT_DOUBLE_EQ(page.value()[0]["metrics"]["score"].get<double>(), 0.9);
  EXPECT_EQ(page.value()[0]["overrides"]["run.seed"], 1);
}

TEST_F(ResultsReaderTest, GenerationMovesOnlyAfterACommittedChangeOfThatSweep) {
  const int64_t a = Submit(R"({"name": "a", "seeds": 2})");
  const int64_t b = Submit(R"({"name": "b", "seeds": 2})");
  auto trials = Trials(a);
  const SweepGeneration a0 = store_->Generation(a), b0 = store_->Generation(b);
  ASSERT_TRUE(store_->RecordStart(trials[0].id, 1, 1, "w1", 200).ok());
  const SweepGeneration a1 = store_->Generation(a);
  EXPECT_NE(a1, a0);
  EXPECT_EQ(store_->Generation(b), b0);
  // Progress of a trial already running on the same worker changes nothing a reader sees.
  ASSERT_TRUE(store_->RecordStart(trials[0].id, 1, 1, "w1", 201).ok());
  EXPECT_EQ(store_->Generation(a), a1);
  Status s = store_->Batch([&] {
    ASSERT_TRUE(store_->RecordResult(Scored(trials[0], 1.0)).ok());
    EXPECT_EQ(store_->Generation(a), a1) << "not visible before the batch commits";
  });
  ASSERT_TRUE(s.ok());
  const SweepGeneration a2 = store_->Generation(a);
  EXPECT_NE(a2, a1);
  EXPECT_EQ(a2.requested, a0.requested) << "a worker's report is an ingested change";
  EXPECT_EQ(store_->Generation(b), b0);
  ASSERT_TRUE(store_->CancelSweep(a, 300).ok());
  EXPECT_NE(store_->Generation(a).requested, a2.requested) << "a user's cancel is a requested change";
}

TEST_F(ResultsReaderTest, ReadersNeitherWaitForNorSeeAnOpenWriteTransaction) {
  const int64_t sweep = Submit(R"({"name": "s", "seeds": 2})");
  auto trials = Trials(sweep);
  ASSERT_TRUE(store_->RecordResult(Scored(trials[0], 1.0)).ok());
  auto reader = Reader();
  Status s = store_->Batch([&] {
    ASSERT_TRUE(store_->RecordResult(Scored(trials[1], 5.0)).ok());
    auto summary = reader->Summary(sweep);  // would wait out busy_timeout and fail if blocked
    ASSERT_TRUE(summary.ok()) << summary.status().message();
    EXPECT_EQ(summary.value()["groups"][0]["metrics"]["score"]["n"], 1);
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(reader->Summary(sweep).value()["groups"][0]["metrics"]["score"]["n"], 2);
}

TEST_F(ResultsReaderTest, Version1FileMigratesWithItsSumsAndSteps) {
  const int64_t sweep = Submit(R"({"name": "s", "grid": {"loss.lambda_inv": [0.1, 0.3]}, "seeds": 2})");
  auto trials = Trials(sweep);
  for (size_t i = 0; i < trials.size(); ++i) ASSERT_TRUE(store_->RecordResult(Scored(trials[i], 1.0 + i)).ok());
  const json before = Reader()->Summary(sweep).value();
  const json listed = Reader()->TrialsById({trials[0].id}).value();
  ASSERT_EQ(listed[0]["total_steps"], trials[0].config["optim"]["steps"]);
  store_.reset();
  // Take the file back to schema 1 as an older build left it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, kBackToSchema3, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE group_stats; DROP INDEX trials_by_group; "
                             "ALTER TABLE trials DROP COLUMN point; ALTER TABLE trials DROP COLUMN total_steps; "
                             "PRAGMA user_version = 1;",
                         nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
  Reopen();
  EXPECT_EQ(store_->schema_version(), Store::kSchemaVersion);
  EXPECT_EQ(Reader()->Summary(sweep).value(), before);
  EXPECT_EQ(Reader()->TrialsById({trials[0].id}).value(), listed);
}

TEST_F(ResultsReaderTest, UnknownIdsSayWhich) {
  auto reader = Reader();
  EXPECT_EQ(reader->GetSweep(42).status().message(), "sweep 42: no such sweep");
  EXPECT_EQ(reader->GetTrial(7).status().message(), "trial 7: no such trial");
  EXPECT_EQ(reader->Summary(42).status().message(), "sweep 42: no such sweep");
  EXPECT_FALSE(reader->GetArtifact(7, "x.png").ok());
}

}  // namespace
}  // namespace sic
