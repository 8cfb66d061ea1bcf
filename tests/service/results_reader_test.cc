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
  json listed = Reader()->TrialsById({trials[0].id}).value();
  ASSERT_EQ(listed[0]["total_steps"], trials[0].config["optim"]["steps"]);
  // Files from before schema 6 never recorded steps_done: the migration starts it at 0.
  listed[0]["steps_done"] = 0;
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

// Rows the coordinator's scheduler and pumps record for adaptive sweeps
// (schema 6), written here with plain SQL on a connection of the test's own.
class AdaptiveReaderTest : public ResultsReaderTest {
 protected:
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    const std::string message = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message << "\n" << sql;
  }
  static std::string Id(int64_t id) { return std::to_string(id); }
};

TEST_F(AdaptiveReaderTest, EvalsByStepWithNaNAsNullAndAMetricFilter) {
  const int64_t sweep = Submit(R"({"name": "s", "seeds": 2})");
  auto trials = Trials(sweep);
  const int64_t a = trials[0].id, b = trials[1].id;
  Sql("INSERT INTO evals (trial_id, step, name, value) VALUES (" + Id(a) + ", 200, 'eval.2m.max_score60', 0.5), (" +
      Id(a) + ", 200, 'eval.2m.n_grid', NULL), (" + Id(a) + ", 100, 'eval.2m.max_score60', 0.1)");
  auto reader = Reader();
  auto all = reader->Evals(a);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all.value(), json::parse(R"({"trial_id": )" + Id(a) + R"(, "steps": 2, "evals": [
      {"step": 100, "metrics": {"eval.2m.max_score60": 0.1}},
      {"step": 200, "metrics": {"eval.2m.max_score60": 0.5, "eval.2m.n_grid": null}}]})"));
  // Only the named metrics; a step without any of them is left out.
  EXPECT_EQ(reader->Evals(a, {"eval.2m.n_grid"}).value()["evals"],
            json::parse(R"([{"step": 200, "metrics": {"eval.2m.n_grid": null}}])"));
  EXPECT_EQ(reader->Evals(b).value()["evals"], json::array());
  EXPECT_EQ(reader->Evals(999).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(reader->Evals(999).status().message(), "trial 999: no such trial");
}

TEST_F(AdaptiveReaderTest, ManyEvalStepsAreThinnedEvenlyKeepingTheLast) {
  const int64_t sweep = Submit(R"({"name": "s"})");
  const int64_t t = Trials(sweep)[0].id;
  const int64_t n = 2 * static_cast<int64_t>(ResultsReader::kMaxEvalSteps) + 7;
  Sql("WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < " + Id(n) +
      ") INSERT INTO evals (trial_id, step, name, value) SELECT " + Id(t) + ", i * 10, 'x', i FROM k");
  auto out = Reader()->Evals(t);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const json& evals = out.value()["evals"];
  EXPECT_EQ(out.value()["steps"], n);
  EXPECT_LE(evals.size(), ResultsReader::kMaxEvalSteps + 1);
  EXPECT_GE(evals.size(), ResultsReader::kMaxEvalSteps / 2);
  EXPECT_EQ(evals.front()["step"], 10);
  EXPECT_EQ(evals.back()["step"], n * 10);
}

TEST_F(AdaptiveReaderTest, SearchHasValuesRungsBestFirstAndTheStepsSaved) {
  const int64_t sweep = Submit(R"({"name": "s", "seeds": 4})");
  auto trials = Trials(sweep);
  ASSERT_EQ(trials.size(), 4u);
  const int64_t t0 = trials[0].id, t1 = trials[1].id, t2 = trials[2].id, t3 = trials[3].id;
  // The spec as a search sweep would store it (the spec parser is not needed to read it).
  Sql(R"(UPDATE sweeps SET spec = '{"name": "s", "objective": {"metric": "score", "direction": "min"},
         "schedule": {"method": "asha", "min_steps": 100, "max_steps": 900}}' WHERE id = )" + Id(sweep));
  Sql("UPDATE trials SET total_steps = 900 WHERE sweep_id = " + Id(sweep));
  ASSERT_TRUE(store_->RecordResult(Scored(trials[0], 0.2)).ok());  // succeeded, score 0.2
  Sql("UPDATE trials SET status = 'stopped', steps_done = 100, started_at = 5 WHERE id = " + Id(t1) + ";" +
      "UPDATE trials SET status = 'paused', steps_done = 300, target_steps = 300, started_at = 5 WHERE id = " +
      Id(t2) + ";" + "UPDATE trials SET status = 'waiting' WHERE id = " + Id(t3) + ";" +
      "INSERT INTO rungs (trial_id, rung, step, value, at, promoted) VALUES "
      "(" + Id(t0) + ", 0, 100, 0.5, 10, 11), (" + Id(t1) + ", 0, 100, 0.9, 10, NULL), "
      "(" + Id(t2) + ", 0, 100, 0.3, 10, 12), (" + Id(t2) + ", 1, 300, NULL, 20, NULL);");
  auto reader = Reader();
  auto out = reader->Search(sweep);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const json& s = out.value();
  EXPECT_EQ(s["objective"], json::parse(R"({"metric": "score", "direction": "min"})"));
  EXPECT_TRUE(s["search"].is_null());
  EXPECT_EQ(s["schedule"]["method"], "asha");
  const json& ts = s["trials"];
  ASSERT_EQ(ts.size(), 4u);
  // A succeeded trial's value is its objective; any other's its latest rung's
  // signal (NaN as null); none without a rung.
  EXPECT_EQ(ts[0]["value"], 0.2);
  EXPECT_EQ(ts[0]["value_from"], "objective");
  EXPECT_EQ(ts[0]["rung"], 0);
  EXPECT_EQ(ts[1]["value"], 0.9);
  EXPECT_EQ(ts[1]["value_from"], "rung");
  EXPECT_EQ(ts[1]["status"], "stopped");
  EXPECT_TRUE(ts[2]["value"].is_null());
  EXPECT_EQ(ts[2]["rung"], 1);
  EXPECT_EQ(ts[2]["steps_done"], 300);
  EXPECT_EQ(ts[2]["target_steps"], 300);
  EXPECT_TRUE(ts[3]["value"].is_null());
  EXPECT_TRUE(ts[3]["rung"].is_null());
  EXPECT_EQ(ts[3]["params"], json::parse(R"({"run.seed": 3})"));
  // Rungs: best first in the objective's direction (min), NaN last.
  ASSERT_EQ(s["rungs"].size(), 2u);
  EXPECT_EQ(s["rungs"][0]["rung"], 0);
  EXPECT_EQ(s["rungs"][0]["step"], 100);
  std::vector<int64_t> order;
  std::vector<bool> promoted;
  for (const json& e : s["rungs"][0]["trials"]) {
    order.push_back(e["id"]);
    promoted.push_back(e["promoted"]);
  }
  EXPECT_EQ(order, (std::vector<int64_t>{t2, t0, t1}));
  EXPECT_EQ(promoted, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(s["rungs"][0]["trials"][0]["promoted_at"], 12.0);
  EXPECT_EQ(s["rungs"][1]["trials"], json::parse(R"([{"id": )" + Id(t2) +
                                                  R"(, "value": null, "promoted": false, "promoted_at": null}])"));
  // Trained: 900 (succeeded) + 100 + 300; full: three started configurations
  // at 900 steps each; the waiting one has cost nothing.
  EXPECT_EQ(s["steps"], json::parse(R"({"trained": 1300, "full": 2700, "saved": 1400, "started": 3})"));

  // The listing's trials carry the same state.
  const json listed = reader->TrialsById({t2, t3}).value();
  EXPECT_EQ(listed[0]["rung"], 1);
  EXPECT_EQ(listed[0]["steps_done"], 300);
  EXPECT_EQ(listed[0]["step"], 300);
  EXPECT_EQ(listed[0]["target_steps"], 300);
  EXPECT_TRUE(listed[1]["rung"].is_null());
}

TEST_F(AdaptiveReaderTest, SearchOfAPlainSweepIsNotFoundAndSaysWhy) {
  const int64_t sweep = Submit(R"({"name": "s", "seeds": 2})");
  auto reader = Reader();
  auto out = reader->Search(sweep);
  EXPECT_EQ(out.status().code(), Status::Code::kNotFound);
  EXPECT_NE(out.status().message().find("no objective, search or schedule"), std::string::npos)
      << out.status().message();
  EXPECT_EQ(reader->Search(42).status().message(), "sweep 42: no such sweep");
}

// The queue view's rows: live trials by (class, sweep, status) with the
// sweep's owner, priority and cap; final ones and an external search's own
// running trials left out.
TEST_F(AdaptiveReaderTest, QueueCountsByClassSweepAndStatus) {
  const int64_t cpu = Submit(R"({"name": "c", "seeds": 4, "priority": 5, "max_running": 2})");
  const int64_t gpu = Submit(R"({"name": "g", "seeds": 2, "resources": {"device": "cuda"}})");
  auto t = Trials(cpu);
  Sql("UPDATE sweeps SET owner = 'ann' WHERE id = " + Id(cpu));
  Sql("UPDATE trials SET status = 'queued' WHERE id = " + Id(t[0].id));
  Sql("UPDATE trials SET status = 'running', worker = 'w1' WHERE id = " + Id(t[1].id));
  Sql("UPDATE trials SET status = 'succeeded' WHERE id = " + Id(t[2].id));
  Sql("UPDATE trials SET status = 'running', worker = 'external' WHERE id = " + Id(t[3].id));
  auto rows = Reader()->QueueCounts();
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  std::vector<std::string> got;
  for (const ClassSweepCount& r : rows.value()) {
    got.push_back(r.device_class + " " + std::to_string(r.sweep_id) + " " + r.status + " " +
                  std::to_string(r.count) + " " + r.name + " " + r.owner + " " + std::to_string(r.priority) +
                  " " + std::to_string(r.max_running));
  }
  const std::string c = std::to_string(cpu), g = std::to_string(gpu);
  EXPECT_EQ(got, (std::vector<std::string>{"cpu " + c + " queued 1 c ann 5 2", "cpu " + c + " running 1 c ann 5 2",
                                           "cuda " + g + " pending 2 g  0 0"}));
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
