// The one mapping of a Status code to the wire: an HTTP status for the REST
// API and a gRPC status for SweepService. Every error a caller sees goes
// through one of these two, so a code means the same thing on both.
//
// Thread-safety: pure functions.
#pragma once

#include <grpcpp/support/status.h>

#include "sic/status.h"

namespace sic {

inline int HttpStatusOf(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return 200;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kUnauthenticated: return 401;
    case Status::Code::kPermissionDenied: return 403;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kAlreadyExists: return 409;
    case Status::Code::kFailedPrecondition: return 409;
    case Status::Code::kResourceExhausted: return 413;
    case Status::Code::kUnavailable: return 503;
    case Status::Code::kUnknown:
    case Status::Code::kInternal: return 500;
  }
  return 500;
}

inline grpc::StatusCode GrpcCodeOf(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return grpc::StatusCode::OK;
    case Status::Code::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case Status::Code::kUnauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case Status::Code::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case Status::Code::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case Status::Code::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case Status::Code::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case Status::Code::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case Status::Code::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case Status::Code::kUnknown: return grpc::StatusCode::UNKNOWN;
    case Status::Code::kInternal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

// A coordinator error as gRPC sends it. Its details carry the code's name, so
// a client can tell an answer of the coordinator (e.g. "Redis is down") from a
// coordinator it cannot reach, without reading the message.
inline grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(GrpcCodeOf(s.code()), s.message(), CodeName(s.code()));
}

}  // namespace sic
