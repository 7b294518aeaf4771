# The webhook image: a static binary on a distroless base, running as a non-root user.
# `make image` builds it; the chart's default image (values.yaml image.repository and the
# chart's appVersion) names the same repository and tag.

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
COPY webhook/ webhook/
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" \
      -o /out/kuberos-registry-webhook ./cmd/kuberos-registry-webhook

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kuberos-registry-webhook /kuberos-registry-webhook
# 65532 is distroless' nonroot user; the chart runs the Pod as this user too.
USER 65532:65532
ENTRYPOINT ["/kuberos-registry-webhook"]
