# selfheal controller image (`make image`; docs/kubernetes.md "The image").
#   build:   Debian 12 with the -dev packages; `make bin/selfheal` as everywhere,
#            then a root filesystem with only what the binary loads
#   runtime: that root filesystem on `scratch` (distroless-style): the stripped
#            binary, the shared libraries ldd names and the loader, the CA
#            bundle, passwd/group naming the non-root user 65532, the
#            libraries' copyright files. No shell, no package manager; nothing
#            is written to the root filesystem (the chart mounts it read-only
#            and gives /var/lib/selfheal an emptyDir).
# With no registry reachable, tests/image-tool.sh makes debian:12 locally
# (mmdebstrap) before building. tests/integration/test_image.sh builds it and
# runs it as the chart's pod on a real kube-apiserver.

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc libc6-dev make pkg-config ca-certificates \
      libyaml-dev libcurl4-openssl-dev libcjson-dev libwebsockets-dev check \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# only what bin/selfheal is made of: edits to tests, docs or the chart keep the
# build cached
COPY Makefile ./
COPY controller controller
COPY reconcilers reconcilers
# the commit `selfheal version` reports (.git is not in the build context)
ARG SELFHEAL_COMMIT=unknown
RUN make clean && make -j"$(nproc)" GIT_COMMIT="$SELFHEAL_COMMIT" bin/selfheal && strip bin/selfheal
# /rootfs: the binary and, at their own paths, every library it loads and the
# loader; ldd fails the build if one is missing
RUN set -eu; r=/rootfs; \
    mkdir -p $r/usr/local/bin $r/etc/ssl/certs $r/var/lib/selfheal $r/tmp $r/home/nonroot; \
    cp bin/selfheal $r/usr/local/bin/selfheal; \
    ! ldd bin/selfheal | grep 'not found'; \
    for lib in $(ldd bin/selfheal | grep -oE '/[^ ]+'); do \
        cp -L --parents "$lib" $r/; \
        pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || true; \
        if [ -n "$pkg" ] && [ -f /usr/share/doc/$pkg/copyright ]; then \
            mkdir -p $r/usr/share/doc/$pkg && cp /usr/share/doc/$pkg/copyright $r/usr/share/doc/$pkg/; \
        fi; \
    done; \
    cp /etc/ssl/certs/ca-certificates.crt $r/etc/ssl/certs/; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >$r/etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' >$r/etc/group; \
    printf 'hosts: files dns\n' >$r/etc/nsswitch.conf; \
    chown 65532:65532 $r/var/lib/selfheal $r/home/nonroot; \
    chmod 1777 $r/tmp

FROM scratch AS runtime
COPY --from=build /rootfs/ /
USER 65532:65532
WORKDIR /var/lib/selfheal
ENV HOME=/home/nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/selfheal"]
CMD ["run", "--platform=kube", "--listen=0.0.0.0:8080"]
