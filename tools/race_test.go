//go:build race

package tools_test

// raceDetector is set when the tests run with -race, which makes handling realistic 4K images
// (hundreds of megabytes of pixels and base64) minutes long.
const raceDetector = true
