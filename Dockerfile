# syntax=docker/dockerfile:1
#
# CarVision API: one static binary on distroless, as a non-root user.
#
#   docker build --build-arg VERSION=$(git describe --always) -t carvision:latest .
#   docker run -d --name carvision-api -p 8000:8000 \
#     -v carvision-data:/var/lib/carvision -v carvision-logs:/var/log/carvision carvision:latest
#
# Volumes: /etc/carvision (config.yaml), /var/lib/carvision (data, models, the
# SQLite store, SSH state), /var/log/carvision (rotated JSON logs).
# Ports: 8000 the API, 2222 the SSH console (off unless ssh.addr is set; the
# image's config sets it).

FROM golang:1.26 AS build
WORKDIR /src
# Modules first so the download layer is cached across source edits.
COPY go.mod go.sum ./
RUN go mod download
# Only the Go sources: data/, artifacts/ and logs/ never enter the build.
COPY cmd ./cmd
COPY engine ./engine
COPY tui ./tui
COPY runbook ./runbook
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags="-s -w -X carvision/engine/local.Version=${VERSION}" \
      -o /out/carvision ./cmd/carvision
# Volume mount points owned by the runtime user (distroless has no shell).
RUN mkdir -p /out/rootfs/var/lib/carvision/data/raw /out/rootfs/var/log/carvision /out/rootfs/etc/carvision

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="carvision" \
      org.opencontainers.image.description="CarVision used-car price API and console" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/carvision /usr/local/bin/carvision
COPY --from=build --chown=65532:65532 /out/rootfs/ /
COPY --chown=65532:65532 deploy/config.container.yaml /etc/carvision/config.yaml
# distroless "nonroot" is uid/gid 65532.
USER 65532:65532
WORKDIR /var/lib/carvision
VOLUME ["/etc/carvision", "/var/lib/carvision", "/var/log/carvision"]
EXPOSE 8000 2222
# The binary probes itself (no curl in distroless): `carvision health` exits
# 0 only on HTTP 200, which /health gives only with a model whose schema
# matches the config.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/carvision", "health", "--url", "http://127.0.0.1:8000/health"]
ENTRYPOINT ["/usr/local/bin/carvision"]
CMD ["serve", "--config", "/etc/carvision/config.yaml"]
