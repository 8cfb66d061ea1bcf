# syntax=docker/dockerfile:1
# sic-worker on CPUs: Debian 12's LibTorch with OpenBLAS, as scripts/bootstrap
# installs it, plus the `sic` science tool. From the repository root:
#   docker build -f deploy/worker-cpu.Dockerfile -t sic-worker-cpu:0.1.0 .
# Built the way scripts/build builds (CMake + Ninja, RelWithDebInfo).

FROM debian:bookworm-slim AS build
# libopenblas0-pthread: Debian's LibTorch calls whatever libblas.so.3 is
# installed; the reference BLAS is ~10x slower for this model (README.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libtorch-dev libopenblas0-pthread nlohmann-json3-dev libcli11-dev libcairo2-dev \
      libsqlite3-dev libhiredis-dev libgrpc++-dev libprotobuf-dev \
      protobuf-compiler protobuf-compiler-grpc libboost-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# One LibTorch translation unit needs ~1.6 GB of memory: few jobs.
ARG JOBS=2
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSIC_BUILD_TESTS=OFF -DSIC_BUILD_BENCH=OFF \
 && ninja -C build -j "$JOBS" sic-worker sic \
 && mkdir /out \
 && cp build/worker/sic-worker build/tools/sic/sic /out/ \
 && deploy/runtime-packages.sh /out/sic-worker /out/sic > /out/runtime-packages.txt

FROM debian:bookworm-slim
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
# OpenBLAS named as well: the list holds the package that owned libblas.so.3
# in the build stage, and OpenBLAS must win the libblas.so.3 alternative here too.
RUN apt-get update \
 && xargs -a /tmp/runtime-packages.txt apt-get install -y --no-install-recommends libopenblas0-pthread \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --gid 10001 sic \
 && useradd --uid 10001 --gid sic --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sic \
 && mkdir /checkpoints && chown sic:sic /checkpoints
COPY --from=build /out/sic-worker /out/sic /usr/local/bin/
USER 10001:10001
ENV HOME=/tmp
WORKDIR /checkpoints
ENTRYPOINT ["/usr/local/bin/sic-worker"]
CMD ["--checkpoint-dir", "/checkpoints"]
