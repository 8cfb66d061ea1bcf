// The subcommands of the `sic` tool. Each takes the arguments after its name,
// prints its own errors as one line on stderr, and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace sic {

int ConfigCommand(const std::vector<std::string>& args);
int TrainCommand(const std::vector<std::string>& args);
int LossesCommand(const std::vector<std::string>& args);
int EvalCommand(const std::vector<std::string>& args);
int AnalyzeCommand(const std::vector<std::string>& args);

}  // namespace sic
