// Command fn is a Lambda function for the lambdaemu tests: it echoes what it
// is given and what Lambda gave it, fails, sleeps or misbehaves on request.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Say       string `json:"say"`
	Fail      bool   `json:"fail"`
	SleepMS   int    `json:"sleep_ms"`
	BadAnswer bool   `json:"bad_answer"`
}

type answer struct {
	Said       string `json:"said"`
	RequestID  string `json:"request_id"`
	Function   string `json:"function"`
	Custom     string `json:"custom"`
	Deadline   bool   `json:"deadline"`
	DeadlineMS int64  `json:"deadline_ms"`
	BadStatus  int    `json:"bad_status,omitempty"`
	LogFormat  string `json:"log_format,omitempty"`
	LogLevel   string `json:"log_level,omitempty"`
}

func main() {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	switch os.Getenv("FN_INIT") {
	case "error":
		body := strings.NewReader(`{"errorMessage":"no config","errorType":"InitError"}`)
		resp, err := http.Post("http://"+api+"/2018-06-01/runtime/init/error", "application/json", body)
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	case "exit":
		os.Exit(3)
	}
	fmt.Println(`{"msg":"init"}`)
	lambda.Start(func(ctx context.Context, e event) (answer, error) {
		fmt.Printf("{\"msg\":\"invoke\",\"say\":%q}\n", e.Say)
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, hasDeadline := ctx.Deadline()
		a := answer{Said: e.Say, RequestID: lc.AwsRequestID, Function: lambdacontext.FunctionName,
			Custom: os.Getenv("FN_CUSTOM"), Deadline: hasDeadline, DeadlineMS: deadline.UnixMilli(),
			LogFormat: os.Getenv("AWS_LAMBDA_LOG_FORMAT"), LogLevel: os.Getenv("AWS_LAMBDA_LOG_LEVEL")}
		if e.Fail {
			return answer{}, errors.New("asked to fail")
		}
		if e.BadAnswer {
			resp, err := http.Post("http://"+api+"/2018-06-01/runtime/invocation/not-the-id/response", "application/json", strings.NewReader("{}"))
			if err != nil {
				return answer{}, err
			}
			resp.Body.Close()
			a.BadStatus = resp.StatusCode
		}
		time.Sleep(time.Duration(e.SleepMS) * time.Millisecond)
		return a, nil
	})
}
