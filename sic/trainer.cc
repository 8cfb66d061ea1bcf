#include "sic/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "sic/checkpoint.h"
#include "sic/data.h"
#include "sic/file_writer.h"
#include "sic/losses.h"
#include "sic/plateau.h"

namespace sic {
namespace fs = std::filesystem;

namespace {

// Fields that may differ between a checkpoint's config and the resuming one.
const char* const kResumeMutableKeys[] = {"optim.steps",  "run.threads",  "run.device",        "run.checkpoint_every",
                                          "probe.every",  "probe.arenas", "probe.trajectories", "probe.steps"};

// Model construction draws from LibTorch's global generator; serialise it so that
// two trainers built on different threads still get their seeds' weights.
std::mutex& InitMutex() {
  static std::mutex mutex;
  return mutex;
}

// The first differing key between two configs, ignoring kResumeMutableKeys,
// or (a branch) every key outside model.*: a branch keeps only the network.
std::string FirstDifference(const Config& a, const Config& b, bool branch) {
  const auto ja = ConfigToJson(a).flatten(), jb = ConfigToJson(b).flatten();
  for (auto it = ja.begin(); it != ja.end(); ++it) {
    std::string key = it.key().substr(1);
    for (auto& ch : key) ch = ch == '/' ? '.' : ch;
    bool is_mutable = branch && key.rfind("model.", 0) != 0;
    for (const char* k : kResumeMutableKeys) is_mutable = is_mutable || key == k;
    if (!is_mutable && (!jb.contains(it.key()) || jb[it.key()] != it.value())) {
      return key + " (" + it.value().dump() + " in the checkpoint, " +
             (jb.contains(it.key()) ? jb[it.key()].dump() : "missing") + " now)";
    }
  }
  return "";
}

// Keeps the curve lines whose step is <= `step`: lines written after the last
// checkpoint by a run that then died would otherwise appear twice.
Status TruncateCurve(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return Status::OK();
  std::string kept, line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() > step) break;
    } catch (const nlohmann::json::exception&) {
      break;  // a torn last line from a crash
    }
    kept += line + "\n";
  }
  return WriteFileAtomically(path, kept);
}

// Steps per second over a sliding window of about two seconds.
class RateMeter {
 public:
  double Tick() {
    ++steps_;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    if (elapsed > 0) rate_ = static_cast<double>(steps_) / elapsed;
    if (elapsed > 2.0) {
      start_ = Clock::now();
      steps_ = 0;
    }
    return rate_;
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_ = Clock::now();
  int64_t steps_ = 0;
  double rate_ = 0;
};

torch::Tensor Doubles(std::initializer_list<double> values) {
  return torch::tensor(std::vector<double>(values), torch::kFloat64);
}

}  // namespace

std::string CheckpointPath(const std::string& out_dir) { return (fs::path(out_dir) / "checkpoint.pt").string(); }

struct Trainer::State {
  Config config;
  torch::Device device{torch::kCPU};
  RuntimeInfo runtime;
  SicNet model{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<BatchSampler> sampler;
  std::string out_dir;
  // curve.jsonl, appended one line at a time; opened (and cut back to the
  // checkpoint's step) at the first line, so that a Run that trains nothing
  // leaves the directory as it found it.
  std::unique_ptr<FileWriter> curve;
  int64_t opened_at_step = 0;
  std::string set_aside;  // Unreadable::kRestart: why the checkpoint was set aside
  std::function<void(const CurveLine&)> on_curve;  // TrainHooks::on_curve during Run

  int64_t step = 0;
  double lr = 0;
  PlateauState plateau;
  double plateau_sum = 0;  // total loss summed over the current plateau interval
  int64_t plateau_count = 0;
  StepLosses curve_sum;  // summed over the current curve line
  int64_t curve_count = 0;

  void SetLr(double value) {
    lr = value;
    for (auto& group : optimizer->param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(value);
    }
  }
  // *unreadable: the archive itself could not be read (not a format or config
  // that differs), so a fresh start is the only way on. `branch`: see Branch.
  Status LoadCheckpoint(const std::string& path, bool* unreadable, bool branch = false);
  Status OpenCurve();
  Status RecordStep(const StepLosses& l);
};

Trainer::Trainer(std::unique_ptr<State> state) : s_(std::move(state)) {}
Trainer::~Trainer() = default;

Result<std::unique_ptr<Trainer>> Trainer::Open(const Config& config, const std::string& out_dir, bool resume,
                                               Unreadable unreadable) {
  auto device = ParseDevice(config.run.device);
  if (!device.ok()) return device.status();
  auto s = std::make_unique<State>();
  s->config = config;
  s->device = device.value();
  s->runtime = SetUpRuntime(static_cast<int>(config.run.threads), s->device);
  s->out_dir = out_dir;
  // A valid config can still ask for more memory than there is (n_units 4096
  // makes a 16M-wide output layer), or a device can fail: LibTorch throws.
  try {
    {
      std::lock_guard<std::mutex> lock(InitMutex());
      torch::manual_seed(static_cast<uint64_t>(config.run.seed));
      s->model = SicNet(config.model);  // built on the CPU, so every device starts alike
    }
    s->model->to(s->device);
    const auto& o = config.optim;
    s->optimizer = std::make_unique<torch::optim::AdamW>(
        s->model->parameters(), torch::optim::AdamWOptions(o.lr)
                                    .betas({o.beta1, o.beta2})
                                    .eps(o.adam_eps)
                                    .weight_decay(o.weight_decay));
    s->lr = o.lr;
    s->sampler = std::make_unique<BatchSampler>(config.data, static_cast<uint64_t>(config.run.seed), s->device,
                                                torch::kFloat32);
  } catch (const std::exception& e) {
    return Status::Error("cannot build the model on " + config.run.device + ": " + FirstLine(e.what()));
  }

  if (!out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) return Status::Error(out_dir + ": cannot create directory: " + ec.message());
    const std::string ckpt = CheckpointPath(out_dir);
    if (fs::exists(ckpt)) {
      if (!resume) {
        return Status::Error(out_dir + " already holds a run (" + ckpt +
                             "); pass --resume to continue it or choose another --out");
      }
      bool torn = false;
      if (Status st = s->LoadCheckpoint(ckpt, &torn); !st.ok()) {
        if (!torn || unreadable == Unreadable::kFail) return st;
        // The model and optimizer may hold part of it: build them again, from
        // step 0. The same config and seed retrace the same run (on the same
        // threads and BLAS), so nothing but the time is lost.
        const fs::path aside = ckpt + ".unreadable";
        std::error_code rc;
        fs::rename(ckpt, aside, rc);
        if (rc) return Status::Error(st.message() + "; cannot set it aside: " + rc.message());
        auto fresh = Open(config, out_dir, /*resume=*/false, Unreadable::kFail);
        if (fresh.ok()) {
          fresh.value()->s_->set_aside =
              st.message() + "; set aside as " + aside.filename().string() + ", training again from step 0";
        }
        return fresh;
      }
    }
    s->opened_at_step = s->step;
    const std::string config_path = (fs::path(out_dir) / "config.json").string();
    if (Status st = WriteFileAtomically(config_path, ConfigToJson(config).dump(2) + "\n"); !st.ok()) return st;
  }
  return std::unique_ptr<Trainer>(new Trainer(std::move(s)));
}

Result<std::unique_ptr<Trainer>> Trainer::Branch(const Config& config, const std::string& out_dir,
                                                 const std::string& from) {
  if (out_dir.empty()) return Status::InvalidArgument("a branch needs a directory of its own");
  std::error_code ec;
  const std::string source = fs::is_directory(from, ec) ? CheckpointPath(from) : from;
  if (!fs::exists(source, ec)) return Status::NotFound(source + ": no checkpoint to branch from");
  auto opened = Open(config, out_dir, /*resume=*/false);
  if (!opened.ok()) return opened.status();
  State& s = *opened.value()->s_;
  bool unreadable = false;
  if (Status st = s.LoadCheckpoint(source, &unreadable, /*branch=*/true); !st.ok()) return st;
  s.opened_at_step = s.step;
  const nlohmann::json note = {{"from", fs::absolute(source, ec).string()}, {"step", s.step}};
  if (Status st = WriteFileAtomically((fs::path(out_dir) / "branch.json").string(), note.dump(2) + "\n"); !st.ok()) {
    return st;
  }
  return opened;
}

Status Trainer::State::OpenCurve() {
  const std::string path = (fs::path(out_dir) / "curve.jsonl").string();
  if (opened_at_step > 0) {
    if (Status st = TruncateCurve(path, opened_at_step); !st.ok()) return st;
  }
  auto file = FileWriter::Open(path, opened_at_step > 0 ? FileWriter::Mode::kAppend : FileWriter::Mode::kTruncate);
  if (!file.ok()) return file.status();
  curve = std::move(file.value());
  return Status::OK();
}

Status Trainer::State::LoadCheckpoint(const std::string& path, bool* unreadable, bool branch) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    c10::IValue format, saved_config;
    archive.read("format", format);
    if (format.toInt() != kCheckpointFormat) {
      return Status::Error(path + ": checkpoint format " + std::to_string(format.toInt()) + " is not supported");
    }
    archive.read("config", saved_config);
    auto before = ConfigFromJson(nlohmann::json::parse(saved_config.toStringRef()));
    if (!before.ok()) return Status::Error(path + ": stored config: " + before.status().message());
    const std::string diff = FirstDifference(before.value(), config, branch);
    if (!diff.empty()) {
      return Status::Error(path + (branch ? ": a branch keeps the network, but its config differs: "
                                          : ": config differs from the checkpoint's: ") + diff);
    }

    torch::serialize::InputArchive model_archive, optimizer_archive;
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model->load(model_archive);
    optimizer->load(optimizer_archive);

    torch::Tensor counters, values;
    archive.read("counters", counters);
    archive.read("values", values);
    const auto c = counters.cpu();
    const auto v = values.cpu().to(torch::kFloat64);
    step = c[0].item<int64_t>();
    plateau.bad_intervals = c[1].item<int64_t>();
    plateau.cooldown_left = c[2].item<int64_t>();
    plateau_count = c[3].item<int64_t>();
    curve_count = c[4].item<int64_t>();
    const auto d = v.data_ptr<double>();
    plateau.best = d[1];
    plateau_sum = d[2];
    curve_sum = StepLosses{d[3], d[4], d[5], d[6], d[7], d[8]};
    if (branch) {
      // The optimizer's settings are the new config's (load restored the
      // checkpoint's); its moments stay. The learning rate is the new one only
      // when optim.lr was changed: otherwise the run's own (the plateau rule
      // may have cut it), so a branch that changes nothing is a resume.
      const auto& o = config.optim;
      for (auto& group : optimizer->param_groups()) {
        static_cast<torch::optim::AdamWOptions&>(group.options())
            .betas({o.beta1, o.beta2})
            .eps(o.adam_eps)
            .weight_decay(o.weight_decay);
      }
      SetLr(o.lr != before->optim.lr ? o.lr : d[0]);
    } else {
      SetLr(d[0]);
    }
  } catch (const std::exception& e) {
    *unreadable = true;
    return Status::Error(path + ": cannot read checkpoint: " + FirstLine(e.what()));
  }
  return Status::OK();
}

Status Trainer::SaveCheckpoint() {
  if (s_->out_dir.empty()) return Status::OK();
  const std::string path = CheckpointPath(s_->out_dir);
  // The curve's lines up to this step on the disk before the checkpoint that
  // says they were written: a machine that loses power resumes with neither
  // a gap in curve.jsonl nor lines past its checkpoint (those are cut).
  if (s_->curve) {
    if (Status st = s_->curve->Sync(); !st.ok()) return st;
  }
  torch::serialize::OutputArchive archive;
  try {
    torch::serialize::OutputArchive model_archive, optimizer_archive;
    s_->model->save(model_archive);
    s_->optimizer->save(optimizer_archive);
    archive.write("format", c10::IValue(kCheckpointFormat));
    archive.write("config", c10::IValue(ConfigToJson(s_->config).dump()));
    archive.write("model", model_archive);
    archive.write("optimizer", optimizer_archive);
    archive.write("counters", torch::tensor(std::vector<int64_t>{s_->step, s_->plateau.bad_intervals,
                                                                s_->plateau.cooldown_left, s_->plateau_count,
                                                                s_->curve_count}));
    const auto& cs = s_->curve_sum;
    archive.write("values", Doubles({s_->lr, s_->plateau.best, s_->plateau_sum, cs.sep, cs.inv, cs.cap,
                                     cs.coniso, cs.total, cs.dead}));
  } catch (const std::exception& e) {
    return Status::Error(path + ": cannot write checkpoint: " + FirstLine(e.what()));
  }
  // Streamed to a temporary file, checked write by write (a full disk is an
  // error here, not a torn checkpoint), then renamed into place. The curve's
  // lines are already written: each is one write(2).
  return WriteFileAtomically(path, [&](FileWriter& out) -> Status {
    // After a failed write the rest is dropped but reported as written:
    // LibTorch's writer, told of a short write, throws, and throws again from
    // its destructor as it finishes the archive, which ends the process.
    try {
      archive.save_to([&](const void* data, size_t n) -> size_t {
        (void)out.Write(std::string_view(static_cast<const char*>(data), n));
        return n;
      });
    } catch (const std::exception& e) {
      return Status::Error(path + ": cannot write checkpoint: " + FirstLine(e.what()));
    }
    return out.status();  // the first write error, if any
  });
}

Result<StepLosses> Trainer::Step() {
  auto& s = *s_;
  const int64_t accumulate = s.config.optim.accumulate;
  s.optimizer->zero_grad();
  auto sums = torch::zeros({6}, torch::TensorOptions().dtype(torch::kFloat64).device(s.device));
  for (int64_t k = 0; k < accumulate; ++k) {
    const Batch batch = s.sampler->Sample(s.step * accumulate + k);
    const auto states = s.model->forward(batch);
    const auto g_all = WithInitialState(s.model->InitialState(), states);
    const LossTerms terms = ComputeLosses(g_all, batch.velocities, s.config.loss);
    (terms.total / static_cast<double>(accumulate)).backward();
    const auto dead = (states.detach().sum(-1) == 0).to(terms.sep.scalar_type()).mean();
    sums += torch::stack({terms.sep, terms.inv, terms.cap, terms.coniso, terms.total.detach(), dead})
                .to(torch::kFloat64);
  }
  const auto means = (sums / static_cast<double>(accumulate)).cpu();  // the step's one host sync
  const double* m = means.data_ptr<double>();
  const StepLosses losses{m[0], m[1], m[2], m[3], m[4], m[5]};
  const char* names[] = {"sep", "inv", "cap", "coniso", "total"};
  for (int i = 0; i < 5; ++i) {
    if (!std::isfinite(m[i])) {
      return Status::Error("step " + std::to_string(s.step + 1) + ": loss " + names[i] + " is " +
                           std::to_string(m[i]) + "; training stopped, parameters left as after step " +
                           std::to_string(s.step));
    }
  }
  if (s.config.optim.grad_clip > 0) {
    const double norm = torch::nn::utils::clip_grad_norm_(s.model->parameters(), s.config.optim.grad_clip);
    if (!std::isfinite(norm)) {
      return Status::Error("step " + std::to_string(s.step + 1) + ": gradient norm is " + std::to_string(norm) +
                           "; training stopped, parameters left as after step " + std::to_string(s.step));
    }
  }
  s.optimizer->step();
  ++s.step;
  if (Status st = s.RecordStep(losses); !st.ok()) return st;
  return losses;
}

Status Trainer::State::RecordStep(const StepLosses& l) {
  curve_sum = StepLosses{curve_sum.sep + l.sep,       curve_sum.inv + l.inv,     curve_sum.cap + l.cap,
                         curve_sum.coniso + l.coniso, curve_sum.total + l.total, curve_sum.dead + l.dead};
  if (++curve_count == config.run.log_every || step == config.optim.steps) {
    const double n = static_cast<double>(curve_count);
    const CurveLine mean{step,
                         {curve_sum.sep / n, curve_sum.inv / n, curve_sum.cap / n, curve_sum.coniso / n,
                          curve_sum.total / n, curve_sum.dead / n},
                         lr};
    if (!out_dir.empty()) {
      if (!curve) {
        if (Status st = OpenCurve(); !st.ok()) return st;
      }
      const StepLosses& m = mean.losses;
      nlohmann::json line = {{"step", step},   {"sep", m.sep},     {"inv", m.inv}, {"cap", m.cap},
                             {"coniso", m.coniso}, {"total", m.total}, {"dead", m.dead}, {"lr", lr}};
      if (Status st = curve->Write(line.dump() + "\n"); !st.ok()) return st;
    }
    if (on_curve) on_curve(mean);
    curve_sum = StepLosses{};
    curve_count = 0;
  }
  plateau_sum += l.total;
  if (++plateau_count == config.optim.plateau.interval) {
    SetLr(PlateauUpdate(config.optim.plateau, plateau, plateau_sum / static_cast<double>(plateau_count), lr));
    plateau_sum = 0;
    plateau_count = 0;
  }
  return Status::OK();
}

Result<TrainOutcome> Trainer::Run(const TrainHooks& hooks) {
  auto& s = *s_;
  const int64_t end = s.config.optim.steps;
  const int64_t pause = hooks.stop_at_step > 0 && hooks.stop_at_step < end ? hooks.stop_at_step : 0;
  if (pause > 0 && s.step > pause) {
    return Status::FailedPrecondition("the run is at step " + std::to_string(s.step) + ", past the stop step " +
                                      std::to_string(pause));
  }
  // The curve hook lives in the state while this Run does (RecordStep calls it).
  struct Scoped {
    State& s;
    ~Scoped() { s.on_curve = nullptr; }
  } scoped{s};
  s.on_curve = hooks.on_curve;
  auto probe = [&]() -> Status {
    if (!hooks.on_probe) return Status::OK();
    Status st = hooks.on_probe(s.step, s.model);
    s.model->train();  // an evaluation switches to eval mode; training goes on as before
    return st;
  };
  const int64_t probe_every = s.config.probe.every;
  RateMeter meter;
  bool trained = false;
  while (s.step < end) {
    // A rung: checkpointed, probed, paused. A Run that starts there (a job
    // delivered again) writes nothing: the checkpoint is already this step's.
    if (pause > 0 && s.step == pause) {
      if (trained) {
        if (Status st = SaveCheckpoint(); !st.ok()) return st;
      }
      if (Status st = probe(); !st.ok()) return st;
      return TrainOutcome::kPaused;
    }
    if (hooks.should_stop && hooks.should_stop()) {
      if (Status st = SaveCheckpoint(); !st.ok()) return st;
      return TrainOutcome::kStopped;
    }
    Result<StepLosses> losses = Status::Error("");
    try {
      losses = Step();
    } catch (const std::exception& e) {
      return Status::Error("step " + std::to_string(s.step + 1) + " failed: " + FirstLine(e.what()));
    }
    if (!losses.ok()) return losses.status();
    trained = true;

    const double rate = meter.Tick();
    if (hooks.on_progress) hooks.on_progress(Progress{s.step, end, losses.value(), s.lr, rate});
    // The probe before the same step's checkpoint: a kill during the probe
    // then resumes before this step and probes it again (the store keeps one
    // evaluation per step), where the other order would resume at this step
    // and never probe it. The probe changes nothing the checkpoint holds.
    if (probe_every > 0 && s.step % probe_every == 0 && s.step < end && s.step != pause) {
      if (Status st = probe(); !st.ok()) return st;
    }
    const int64_t every = s.config.run.checkpoint_every;
    if (every > 0 && s.step % every == 0 && s.step < end && s.step != pause) {
      if (Status st = SaveCheckpoint(); !st.ok()) return st;
    }
  }
  if (Status st = SaveCheckpoint(); !st.ok()) return st;
  return TrainOutcome::kFinished;
}

int64_t Trainer::step() const { return s_->step; }
double Trainer::lr() const { return s_->lr; }
const Config& Trainer::config() const { return s_->config; }
const RuntimeInfo& Trainer::runtime() const { return s_->runtime; }
const std::string& Trainer::set_aside() const { return s_->set_aside; }
SicNet& Trainer::model() { return s_->model; }

}  // namespace sic
