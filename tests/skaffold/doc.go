// Package skaffold checks the Kubernetes developer packaging offline: that
// skaffold.yaml conforms to skaffold's published JSON schema for its
// apiVersion, that it, build/Dockerfile and .ko.yaml build exactly the
// services in services/ with the same flags, that the images' binaries embed
// the tz database, that the Docker build context (pkg/ and one service) is
// enough to build each service, and that every chart value skaffold or the
// kind overlay sets exists in charts/agenttrace/values.yaml.
//
// Nothing here needs Docker, kind, ko or skaffold; the module only reads the
// repository and runs the Go toolchain.
package skaffold
