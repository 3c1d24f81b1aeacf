# facet-triage: build with the Rust toolchain, run on a slim Debian as a non-root user.
# Build:  docker build -t facet-triage .
# Run:    docker run --rm --read-only -p 8080:8080 facet-triage
# Configuration is by environment (see README.md, "Configuration"); the default pathway is embedded
# in the binary; the image serves the copy in /app/pathways (mount another directory there to change it).
# CDS feedback and the JWT replay cache go to an SQLite file in the volume /var/lib/facet-triage
# (owned by the non-root user), or to FACET_TRIAGE_DATABASE=postgres://... for several replicas.
# .ci/check-image-context builds exactly what the build stage copies, so a context that cannot build
# fails CI.

FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY pathways ./pathways
COPY benches ./benches
RUN cargo build --release --locked --bin facet-triage \
    && cp target/release/facet-triage /usr/local/bin/facet-triage

FROM docker.io/library/debian:bookworm-slim
RUN groupadd --system --gid 10001 facet \
    && useradd --system --uid 10001 --gid facet --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin facet \
    && mkdir -p /var/lib/facet-triage \
    && chown 10001:10001 /var/lib/facet-triage
WORKDIR /app
COPY --from=build /usr/local/bin/facet-triage /usr/local/bin/facet-triage
COPY pathways ./pathways
# CDS Hooks are served only with trusted issuers (FACET_TRIAGE_CDS_TRUST and FACET_TRIAGE_PUBLIC_URL),
# or unauthenticated when the operator says so with FACET_TRIAGE_CDS_INSECURE=true (--cds-insecure).
ENV FACET_TRIAGE_ADDR=0.0.0.0:8080 \
    FACET_TRIAGE_PATHWAYS=/app/pathways \
    FACET_TRIAGE_LOG_FORMAT=json \
    FACET_TRIAGE_CDS_REQUIRE_TRUST=true \
    FACET_TRIAGE_DATABASE=sqlite:///var/lib/facet-triage/facet-triage.db
VOLUME ["/var/lib/facet-triage"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD ["facet-triage", "healthcheck"]
ENTRYPOINT ["facet-triage"]
CMD ["serve"]
