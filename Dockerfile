# optexity-runner in a container: Debian 12 with Debian's Chromium, installed by the same
# script `make` uses (scripts/install.sh), so CI exercises the image's install path.
#
#   docker build -t optexity-runner .
#   docker run --rm -p 8790:8790 -v "$PWD:/work" -w /work optexity-runner \
#       run examples/login.json --stream-host 0.0.0.0 --stream-port 8790 \
#       --public-url https://runner.example.com
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VENV=/opt/optexity-runner \
    EXTRAS=""

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY scripts ./scripts
COPY optexity_runner ./optexity_runner
COPY stream_ui ./stream_ui
COPY schemas ./schemas

# The editable install keeps the package pointing at /src, which stays in the image.
RUN bash scripts/install.sh && rm -rf /var/lib/apt/lists/* /root/.cache

ENV PATH="/opt/optexity-runner/bin:${PATH}"
# A live view inside a container must listen on all interfaces to be reachable.
ENV OPTEXITY_STREAM_HOST=0.0.0.0
ENTRYPOINT ["optexity-runner"]
CMD ["--help"]
