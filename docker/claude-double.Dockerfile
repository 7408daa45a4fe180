# The Claude Messages API test double (tools/claude-double, Python 3
# standard library) as a service: the "offline demo model" that the app
# talks to when no CLAUDE_API_KEY is given. Port 8787; runs as nobody.
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-minimal libpython3-stdlib \
 && rm -rf /var/lib/apt/lists/*
COPY tools/claude-double/claude_double.py /opt/claude-double/claude_double.py
USER 65534:65534
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/_double/stats', timeout=2)"]
ENTRYPOINT ["python3", "/opt/claude-double/claude_double.py", "--host", "0.0.0.0", "--port", "8787"]
CMD ["--quiet", "--token-delay-ms", "5"]
