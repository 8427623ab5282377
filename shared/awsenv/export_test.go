package awsenv

import "os"

// OnStandIns exposes onStandIns over this process's environment to the tests.
func OnStandIns() bool { return onStandIns(os.LookupEnv) }

// SDKConfig exposes sdkConfig to the tests.
var SDKConfig = sdkConfig
