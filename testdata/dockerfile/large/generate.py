#!/usr/bin/env python3
"""Writes ./Dockerfile: a 1,000+ line Dockerfile for the parser benchmark.

Built from BuildKit's parser corpus (../conformance/testfiles): each realistic case
becomes a named stage, repeated until the file passes 1,000 lines, followed by
a final stage that uses heredocs, mounts and every metadata instruction.
Run it again after changing the corpus: `python3 generate.py`.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "conformance" / "testfiles"
CASES = ["cpuguy83-nagios", "brimstone-consuldock", "continueIndent", "tf2",
         "mail", "influxdb", "nginx", "znc", "ADD-COPY-with-JSON", "multiple-volumes"]

TAIL = r'''
FROM stage0 AS final
ARG VERSION=1.0
ENV APP=/srv/app \
    VERSION=${VERSION}
WORKDIR $APP
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=bind,from=stage1,source=/etc,target=/mnt/etc \
    --mount=type=secret,id=token,target=/run/secrets/token \
    echo building ${VERSION}
COPY --from=stage2 --chown=1000:1000 --chmod=0755 /usr/bin /opt/bin
RUN <<EOT bash
set -eux
echo "heredoc body"
EOT
COPY <<-"CONF" /etc/app.conf
	key = value
	CONF
EXPOSE 8080/tcp 53/udp
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["curl", "-f", "http://localhost:8080/"]
LABEL org.opencontainers.image.version="${VERSION}" maintainer="kiln"
STOPSIGNAL SIGTERM
USER 1000:1000
VOLUME ["/data"]
ENTRYPOINT ["/opt/bin/app"]
CMD ["--serve"]
'''


def stage(case: str, index: int) -> str:
    text = (CORPUS / case / "Dockerfile").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.upper().startswith("FROM "):
            lines[i] = f"{line} AS stage{index}"
            break
    return f"# from corpus case {case}\n" + "\n".join(lines) + "\n\n"


def main() -> None:
    out, index = [], 0
    while sum(s.count("\n") for s in out) < 1000:
        out.append(stage(CASES[index % len(CASES)], index))
        index += 1
    (HERE / "Dockerfile").write_text("".join(out) + TAIL.lstrip("\n"))


if __name__ == "__main__":
    main()
