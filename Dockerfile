# Patchbay's production image: a multi-stage build, a Debian slim runtime, a non-root user.
#
#   docker build -t patchbay .
#   docker run -e PATCHBAY_MASTER_KEY=... -e PATCHBAY_DATABASE_URL=postgres://... -p 8080:8080 patchbay
#
# See docs/deploy.md (several nodes, keys, backups, readiness, metrics, upgrades).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# gcc and make are in the image; aws-lc-sys and the bundled SQLite need nothing more.
COPY . .
RUN cargo build --release --locked -p patchbay \
    && cp target/release/patchbay /patchbay

FROM debian:bookworm-slim
# ca-certificates: Patchbay calls Salesforce over TLS with the system's trust store.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 patchbay \
    && useradd --system --uid 10001 --gid patchbay --home-dir /var/lib/patchbay --create-home patchbay
COPY --from=build /patchbay /usr/local/bin/patchbay
USER 10001:10001
WORKDIR /var/lib/patchbay
ENV PATCHBAY_LISTEN=0.0.0.0:8080 \
    PATCHBAY_DATA_DIR=/var/lib/patchbay \
    PATCHBAY_LOG_FORMAT=json
EXPOSE 8080
# No shell or curl in the image for a HEALTHCHECK; orchestrators probe /ready and /health.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/patchbay"]
CMD ["serve"]
