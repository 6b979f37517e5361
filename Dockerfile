# The operator image referenced by the chart, deploy/install.yaml and deploy/base (ghcr.io/isc-operator/isc-operator).
# Build: docker build -t ghcr.io/isc-operator/isc-operator:0.1.0 .
FROM rust:1.95-slim-bookworm AS build
# make builds jemalloc, the operator's allocator (tikv-jemalloc-sys).
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The workspace manifest names every member (and the test targets), so they come along; only
# the operator binary is built and copied: the simulator (crates/isc-sim) is not in the image.
COPY crates ./crates
COPY tests ./tests
COPY examples ./examples
RUN cargo build --release --locked -p isc-operator --bin isc-operator

# glibc and CA certificates, no shell, runs as uid 65532 (matches the Deployment).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/isc-operator /usr/local/bin/isc-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/isc-operator"]
CMD ["run"]
