#include "common/log.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <mutex>

namespace sic {
namespace {
std::mutex mu;
std::string& Name() {
  static std::string name = "sic";
  return name;
}
}  // namespace

void SetLogName(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu);
  Name() = name;
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Log(const std::string& message) {
  const double now = NowSeconds();
  const time_t secs = static_cast<time_t>(now);
  tm utc;
  gmtime_r(&secs, &utc);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  char millis[8];
  snprintf(millis, sizeof(millis), ".%03dZ", static_cast<int>((now - static_cast<double>(secs)) * 1000) % 1000);
  std::lock_guard<std::mutex> lock(mu);
  const std::string line = std::string(stamp) + millis + " " + Name() + ": " + message + "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace sic
