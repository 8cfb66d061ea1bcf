#include "redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

namespace sic::testing {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

RedisServer::RedisServer(std::string password, bool aof) : password_(std::move(password)), aof_(aof) {
  char tmpl[] = "/tmp/sic-redis-XXXXXX";
  if (!mkdtemp(tmpl)) return;
  dir_ = tmpl;
  for (int tries = 0; tries < 5 && pid_ <= 0; ++tries) {
    port_ = FreePort();
    Start();
  }
}

RedisServer::~RedisServer() {
  Stop(true);
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

RedisOptions RedisServer::options() const {
  RedisOptions o;
  o.port = port_;
  o.password = password_;
  o.timeout_s = 2;
  return o;
}

bool RedisServer::Start() {
  std::vector<std::string> args = {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                   "--dir", dir_, "--save", "", "--appendonly", aof_ ? "yes" : "no",
                                   "--appendfsync", "always", "--logfile", dir_ + "/redis.log"};
  if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("redis-server", argv.data());
    _exit(127);
  }
  pid_ = pid;
  // Ready when it answers PING (and loaded its AOF).
  RedisClient client(options());
  for (int i = 0; i < 200; ++i) {
    auto r = client.Command({"PING"});
    if (r.ok() && r->str == "PONG") return true;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) break;  // died: port taken?
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  Stop(true);
  return false;
}

void RedisServer::Stop(bool kill9) {
  if (pid_ <= 0) return;
  kill(pid_, kill9 ? SIGKILL : SIGTERM);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace sic::testing
