# syntax=docker/dockerfile:1
# The operator's image: one static binary on distroless, as a numeric
# non-root user, no shell. Build it from the repository root:
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) -t ghcr.io/envop/envop:TAG .
# internal/install/image_test.go reads this file: it builds the binary with
# the environment and flags below and checks that it is static and runs the
# way ENTRYPOINT and CMD call it. Keep the go build a single command.

# The builder's Go is the toolchain the Makefile pins (go1.27.3).
FROM --platform=$BUILDPLATFORM golang:1.27.3 AS build
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY internal/ internal/
COPY schema/ schema/
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
    -ldflags "-s -w -X github.com/envop/envop/internal/version.Version=${VERSION} -X github.com/envop/envop/internal/version.Commit=${COMMIT}" \
    -o /out/envop ./cmd/envop

# distroless/static: CA certificates, /etc/passwd with nonroot (65532) and
# tzdata, nothing else. The install manifests run the pod as the same UID.
FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/envop /envop
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/envop"]
CMD ["serve"]
