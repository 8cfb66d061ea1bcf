# syntax=docker/dockerfile:1
# sic-coordinator (gRPC, HTTP, SQLite) with sicctl and the dashboard's files.
# From the repository root:
#   docker build -f deploy/coordinator.Dockerfile -t sic-coordinator:0.1.0 .
# Built the way scripts/build builds (Debian 12, CMake + Ninja,
# RelWithDebInfo), without the tests and benchmarks.

FROM debian:bookworm-slim AS build
# -DSIC_SERVICE_ONLY=ON: the coordinator and sicctl need no LibTorch, so no
# libtorch-dev here (about 1.5 GB of packages less to install).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      nlohmann-json3-dev libcli11-dev \
      libsqlite3-dev libhiredis-dev libgrpc++-dev libprotobuf-dev \
      protobuf-compiler protobuf-compiler-grpc libboost-dev prometheus-cpp-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG JOBS=2
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSIC_SERVICE_ONLY=ON -DSIC_BUILD_TESTS=OFF -DSIC_BUILD_BENCH=OFF \
 && ninja -C build -j "$JOBS" sic-coordinator sicctl \
 && mkdir /out \
 && cp build/coordinator/sic-coordinator build/sicctl/sicctl /out/ \
 && deploy/runtime-packages.sh /out/sic-coordinator /out/sicctl > /out/runtime-packages.txt

# The dashboard's one library (ECharts), as web/package-lock.json pins it.
# Debian's own nodejs and npm, as scripts/bootstrap installs them: the same
# base as the other stages, so the image builds from Debian's mirror and the
# npm registry alone; only files leave this stage, not node.
FROM debian:bookworm-slim AS web
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY web/ ./

FROM debian:bookworm-slim
# sqlite3: the backup CronJob (deploy/k8s/backup) runs it from this image.
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && xargs -a /tmp/runtime-packages.txt apt-get install -y --no-install-recommends sqlite3 \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --gid 10001 sic \
 && useradd --uid 10001 --gid sic --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sic \
 && mkdir /data && chown sic:sic /data
COPY --from=build /out/sic-coordinator /out/sicctl /usr/local/bin/
COPY --from=web /web /opt/sic/web
ENV SIC_WEB_DIR=/opt/sic/web
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 50051 8080
ENTRYPOINT ["/usr/local/bin/sic-coordinator"]
CMD ["--listen", "0.0.0.0:50051", "--http", "0.0.0.0:8080", "--db", "/data/sic.db"]
