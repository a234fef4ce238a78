# Production image: gunicorn serving Django, static files collected at build
# time and served by WhiteNoise. The same image runs the Celery worker and beat.

# --- front-end packages (GOV.UK Frontend, axe-core) from package-lock.json
FROM node:20-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- the application
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --from=frontend /build/node_modules ./node_modules
COPY . .

# collectstatic reads settings, which want a key; this one exists only for the build.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app app \
    && mkdir -p /app/var \
    && chown app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "safeguarding.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
