//go:build !race

package tools_test

const raceDetector = false
