package main

import (
	"context"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/config/awsref"
)

// lazyAWSResolver resolves secretsmanager:/ssm: references in a local config
// with the default AWS credentials, loaded only if a reference is used.
func lazyAWSResolver() config.Resolver {
	var r *awsref.Resolver
	return config.ResolverFunc(func(ctx context.Context, kind, name string) (string, error) {
		if r == nil {
			cfg, err := awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				return "", err
			}
			r = awsref.New(cfg)
		}
		return r.Resolve(ctx, kind, name)
	})
}
