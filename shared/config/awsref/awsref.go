// Package awsref resolves the config's "secretsmanager:<name>" and
// "ssm:<name>" references with AWS Secrets Manager and SSM Parameter Store
// (SecureString values are decrypted).
package awsref

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Resolver implements config.Resolver.
type Resolver struct {
	Secrets *secretsmanager.Client
	SSM     *ssm.Client
}

// New builds a resolver from an AWS config.
func New(cfg aws.Config) *Resolver {
	return &Resolver{Secrets: secretsmanager.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg)}
}

// Resolve returns the secret's or parameter's value. Errors name the
// reference, never a value.
func (r *Resolver) Resolve(ctx context.Context, kind, name string) (string, error) {
	switch kind {
	case "secretsmanager":
		out, err := r.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil {
			return "", fmt.Errorf("GetSecretValue: %w", err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("secret %s has no string value", name)
		}
		return *out.SecretString, nil
	case "ssm":
		out, err := r.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("GetParameter: %w", err)
		}
		return aws.ToString(out.Parameter.Value), nil
	}
	return "", fmt.Errorf("unknown reference kind %q", kind)
}
