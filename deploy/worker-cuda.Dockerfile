# syntax=docker/dockerfile:1
# sic-worker on NVIDIA GPUs: the official CUDA LibTorch on NVIDIA's CUDA
# image, plus the `sic` science tool. From the repository root:
#   docker build -f deploy/worker-cuda.Dockerfile -t sic-worker-cuda:0.1.0 .
#
# Why Ubuntu 24.04: NVIDIA publishes CUDA images for Ubuntu and RHEL, not
# Debian, and Ubuntu 24.04 carries the same gRPC (1.51) and Protobuf (3.21)
# as Debian 12, so the service code builds against the versions it is tested
# with. The cxx11-ABI LibTorch is the one that links with them (std::string
# in their interfaces); LibTorch keeps its own Protobuf's symbols hidden.
# What has and has not been verified: docs/deploy.md, "Images".

ARG CUDA_VERSION=12.6.3
FROM nvidia/cuda:${CUDA_VERSION}-cudnn-devel-ubuntu24.04 AS build
ARG LIBTORCH_URL=https://download.pytorch.org/libtorch/cu126/libtorch-cxx11-abi-shared-with-deps-2.6.0%2Bcu126.zip
# Set it to the archive's SHA-256 to have the download checked.
ARG LIBTORCH_SHA256=
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config curl ca-certificates unzip \
      nlohmann-json3-dev libcli11-dev libcairo2-dev \
      libsqlite3-dev libhiredis-dev libgrpc++-dev libprotobuf-dev \
      protobuf-compiler protobuf-compiler-grpc libboost-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
# Any Protobuf headers inside LibTorch are removed so that the generated
# proto code compiles against the system's, which it links with.
RUN curl -fsSL --retry 3 -o /tmp/libtorch.zip "$LIBTORCH_URL" \
 && if [ -n "$LIBTORCH_SHA256" ]; then echo "$LIBTORCH_SHA256  /tmp/libtorch.zip" | sha256sum -c -; fi \
 && unzip -q /tmp/libtorch.zip -d /opt \
 && rm /tmp/libtorch.zip \
 && rm -rf /opt/libtorch/include/google
WORKDIR /src
COPY . .
# LibTorch's CMake files ask for target GPU architectures; no CUDA code of
# ours is compiled, so this only silences the probe for a GPU at build time.
ENV TORCH_CUDA_ARCH_LIST="8.0;8.6;8.9;9.0"
# One LibTorch translation unit needs ~1.6 GB of memory: few jobs.
ARG JOBS=2
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSIC_BUILD_TESTS=OFF -DSIC_BUILD_BENCH=OFF -DCMAKE_PREFIX_PATH=/opt/libtorch \
 && ninja -C build -j "$JOBS" sic-worker sic \
 && mkdir /out \
 && cp build/worker/sic-worker build/tools/sic/sic /out/ \
 && deploy/runtime-packages.sh /out/sic-worker /out/sic > /out/runtime-packages.txt

# The base flavour has the CUDA runtime and NVIDIA's apt source; LibTorch
# brings its own cuDNN, cuBLAS and the rest in /opt/libtorch/lib.
FROM nvidia/cuda:${CUDA_VERSION}-base-ubuntu24.04
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && xargs -a /tmp/runtime-packages.txt apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --gid 10001 sic \
 && useradd --uid 10001 --gid sic --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sic \
 && mkdir /checkpoints && chown sic:sic /checkpoints
# The binaries find LibTorch through their RPATH, /opt/libtorch/lib as in the build stage.
COPY --from=build /opt/libtorch/lib /opt/libtorch/lib
COPY --from=build /out/sic-worker /out/sic /usr/local/bin/
USER 10001:10001
ENV HOME=/tmp
WORKDIR /checkpoints
ENTRYPOINT ["/usr/local/bin/sic-worker"]
CMD ["--checkpoint-dir", "/checkpoints"]
