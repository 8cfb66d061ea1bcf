// One-line logs on stderr: "2026-11-27T21:58:00.123Z sic-worker[w1]: message".
// Thread-safety: thread-safe (one write per line).
#pragma once

#include <string>

namespace sic {

// Sets the prefix of every line (the process name and, say, the worker name).
void SetLogName(const std::string& name);
void Log(const std::string& message);
// Seconds since the epoch, as stored in SQLite and sent in events.
double NowSeconds();

}  // namespace sic
