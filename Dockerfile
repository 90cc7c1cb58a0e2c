# syntax=docker/dockerfile:1
# Fabrique production image: `docker build -t fabrique .` (compose.yaml does it for you).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: a virtualenv with Fabrique and its dependencies ---------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /srv/fabrique

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml README.md* ./
RUN mkdir app workers \
 && touch app/__init__.py workers/__init__.py \
 && pip install . \
 && pip uninstall -y fabrique \
 && rm -rf app workers build ./*.egg-info

# Then the code, installed in editable mode: the package stays at /srv/fabrique (same path in the
# final image), next to frontend/, migrations/ and alembic.ini, which the app finds from there.
COPY app ./app
COPY workers ./workers
RUN pip install --no-deps -e .

# --- final image -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FABRIQUE_ENV=production
RUN groupadd --system fabrique \
 && useradd --system --gid fabrique --home-dir /srv/fabrique --no-create-home \
        --shell /usr/sbin/nologin fabrique

COPY --from=builder /opt/venv /opt/venv
WORKDIR /srv/fabrique
COPY --from=builder /srv/fabrique ./
COPY alembic.ini ./
COPY migrations ./migrations
COPY frontend ./frontend

# Compile the catalogs (.mo files are not in git) and the bytecode at build time; the runtime user
# cannot write here. var/ is only used by the embedded SQLite default (mount a volume there).
RUN if ls frontend/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
        pybabel -q compile -d frontend/translations -D messages; \
    fi \
 && python -m compileall -q app workers migrations \
 && mkdir -p var \
 && chown fabrique:fabrique var

USER fabrique
EXPOSE 8000
CMD ["fabrique", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
