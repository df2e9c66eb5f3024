// Package skaffold checks the Kubernetes developer packaging offline, with
// the tools' own definitions wherever they exist as Go code or data:
//
//   - skaffold.yaml against skaffold's published JSON schema for its
//     apiVersion (vendored in testdata), with the kind profile's patches
//     applied as well;
//   - build/Dockerfile through BuildKit's parser and linter, and
//     deploy/kind/cluster.yaml strictly into kind's v1alpha4 types;
//   - that skaffold.yaml, build/Dockerfile and .ko.yaml build exactly the
//     services in services/ with the same flags and base image;
//   - that each service builds from a copy of exactly the Docker build
//     context (.dockerignore applied by Docker's pattern matcher) into a
//     static, stripped binary that links time/tzdata;
//   - that charts/agenttrace, rendered by helm as `skaffold dev -p kind`
//     installs it, runs the built images through their ENTRYPOINT and has
//     the Services the port-forwards name.
//
// Nothing here needs Docker, kind, ko or skaffold. The build and helm tests
// need the Go toolchain and helm (bin/helm, $HELM or PATH) and are skipped
// with -short.
package skaffold
