# Farthing's server image: the locked dependencies (uv.lock), a user without privileges, the embedded
# SQLite ledger in /data by default (set FARTHING_DATABASE_URL for PostgreSQL; compose.yaml does).
#
#   docker build -t farthing .                                # on the usual Python slim image
#   docker build --build-arg BASE=debian:bookworm -t farthing .  # any base with python3 (3.11+) and venv
#   docker run -p 8402:8402 -v farthing-data:/data farthing   # the operator key is printed on first start
#
# bench/container.sh builds this same file with Debian's buildah on a base made with debootstrap from
# Debian's packages (no image registry needed), starts it and pays once through it.
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1

# BUILD_CA: a CA bundle the build's downloads trust, where a network intercepts TLS (mount it for the
# build, e.g. buildah bud -v /etc/ssl/certs/ca-certificates.crt:/tmp/build-ca.crt:ro
# --build-arg BUILD_CA=/tmp/build-ca.crt); the image keeps its own bundle.
ARG BUILD_CA=""

# uv in a venv of its own (Debian's python3 refuses `pip install` into the system: PEP 668).
RUN if [ -n "$BUILD_CA" ]; then export PIP_CERT="$BUILD_CA" SSL_CERT_FILE="$BUILD_CA"; fi \
    && python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir 'uv==0.13.9'

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN if [ -n "$BUILD_CA" ]; then export SSL_CERT_FILE="$BUILD_CA"; fi \
    && /opt/uv/bin/uv sync --locked --no-dev --extra postgres --no-editable --no-cache \
    && rm -rf /app/src

RUN useradd --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin farthing \
    && mkdir -p /data && chown farthing:farthing /data
USER farthing
WORKDIR /data
ENV PATH=/app/.venv/bin:$PATH \
    FARTHING_DATABASE_URL=sqlite:////data/farthing.db \
    FARTHING_LOG_FORMAT=json

EXPOSE 8402
CMD ["farthing", "serve", "--host", "0.0.0.0", "--port", "8402"]
