package server

import (
	"net"
	"strconv"

	"github.com/sysmon-dev/sysmon/internal/auth"
)

// Config is where the daemon listens and who may talk to it.
type Config struct {
	Host     string // an IP address or localhost; "" listens on every address
	Port     int    // 0: any free port
	CertFile string // with KeyFile: serve HTTPS
	KeyFile  string
	Auth     auth.Config
	// AllowedHosts are the Host names the server answers to besides
	// loopback names, IP addresses and the system's host name: lower case,
	// no port; "*.example.com" stands for its subdomains. AnyHost turns the
	// check off.
	AllowedHosts []string
	AnyHost      bool
}

func (c Config) addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// loopback tells whether only this machine can connect.
func (c Config) loopback() bool {
	if c.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(c.Host)
	return ip != nil && ip.IsLoopback()
}
