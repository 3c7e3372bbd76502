// Pulumi components for warmpool: GPU capacity, the runtime agent and serverless functions on Kubernetes and AWS
package warmpool
