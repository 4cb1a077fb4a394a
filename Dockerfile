# The waterbudget services (migrate, ingest, api, ...): one image, one console
# command; docker-compose.yml picks the subcommand.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
RUN pip install . \
    && useradd --system --no-create-home --shell /usr/sbin/nologin waterbudget

USER waterbudget
EXPOSE 8000
ENTRYPOINT ["waterbudget"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
