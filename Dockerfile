# selfheal controller image.
#   build:   Debian 12 with the -dev packages; `make bin/selfheal` as everywhere
#   runtime: slim Debian 12 with only the runtime libraries, non-root numeric user
# tests/integration/test_dockerfile.sh runs the build stage's commands and
# checks they give the same binary as the Makefile.

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc make pkg-config git ca-certificates \
      libyaml-dev libcurl4-openssl-dev libcjson-dev libwebsockets-dev check \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make clean && make bin/selfheal && strip bin/selfheal

FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libyaml-0-2 libcurl4 libcjson1 libwebsockets17 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/bin/selfheal /usr/local/bin/selfheal
USER 65532:65532
WORKDIR /var/lib/selfheal
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/selfheal"]
CMD ["run", "--platform=kube", "--listen=0.0.0.0:8080"]
