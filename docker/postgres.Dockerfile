# PostgreSQL 15 from Debian's packages, for docker/compose.yml and
# docker/stack.yml. On its first start (an empty data directory) it runs
# initdb and creates POSTGRES_USER with POSTGRES_PASSWORD (or
# POSTGRES_PASSWORD_FILE) and the database POSTGRES_DB owned by it; later
# starts reuse the volume. Runs as the postgres user. The same image runs
# the backup service (docker/backup-schedule.sh with script/backup; also
# script/restore, as brainstorm-restore, for restores and drills).
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
# No cluster from the package's postinst: the entry point makes its own in
# the volume.
RUN mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres -m 0775 /run/postgresql \
 && install -d -o postgres -g postgres -m 0700 /var/backups/brainstorm
COPY docker/postgres-entrypoint.sh /usr/local/bin/brainstorm-postgres-entrypoint
COPY script/backup /usr/local/bin/brainstorm-backup
COPY script/restore /usr/local/bin/brainstorm-restore
COPY docker/backup-schedule.sh /usr/local/bin/brainstorm-backup-schedule
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data/pgdata \
    POSTGRES_USER=brainstorm \
    POSTGRES_DB=brainstorm
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=5s --start-period=20s --retries=5 \
  CMD ["sh", "-c", "pg_isready -q -h 127.0.0.1 -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\""]
ENTRYPOINT ["/usr/local/bin/brainstorm-postgres-entrypoint"]
CMD ["postgres"]
