// goknot — knot's behaviour in Go, the peer bench:http measures knot against:
// a goroutine per connection, HTTP/1.1 keep-alive and pipelining, GET and
// HEAD of the docroot's files served from memory. Written for speed the way
// a Go programmer would: a raw net.Conn loop with bufio and minimal parsing
// (as knot's), not net/http, whose generality costs several times more per
// request. Responses carry what knot's do: Server, Date, Content-Type,
// Content-Length, Last-Modified.
//
//	goknot [-p PORT] [-a ADDR] [-d DOCROOT] [-k KEEPALIVE_SECONDS]
//
// Prints "listening on PORT" once it accepts connections; on SIGINT or
// SIGTERM prints "goknot: N requests on M connections" and exits 0. The
// scheduler uses GOMAXPROCS kernel threads (default: the CPUs it may use).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

type file struct {
	head []byte // Content-Type, Content-Length and Last-Modified lines
	body []byte
}

var (
	files                 = map[string]*file{}
	date                  atomic.Value // []byte: "Date: ...\r\n", renewed every second
	requests, connections atomic.Uint64
	keepAlive             time.Duration
)

const httpTime = "Mon, 02 Jan 2006 15:04:05 GMT"

func contentType(name string) string {
	switch filepath.Ext(name) {
	case ".html", ".htm":
		return "text/html; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// load reads the docroot's regular files (its top level, as the benchmark
// serves it) into memory.
func load(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		head := fmt.Sprintf("Content-Type: %s\r\nContent-Length: %d\r\nLast-Modified: %s\r\n",
			contentType(e.Name()), len(body), info.ModTime().UTC().Format(httpTime))
		files["/"+e.Name()] = &file{[]byte(head), body}
	}
	return nil
}

func renewDate() {
	for {
		date.Store([]byte("Date: " + time.Now().UTC().Format(httpTime) + "\r\n"))
		time.Sleep(time.Second)
	}
}

var notFound = &file{[]byte("Content-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n"), []byte("not found\n")}

// serve answers c's requests in order until the client closes, asks to, or
// is idle for keepAlive. Responses are flushed when no further request is
// already buffered, so a pipelined batch goes out in one write.
func serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 8192)
	w := bufio.NewWriterSize(c, 16384)
	for {
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(keepAlive))
		}
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		parts := bytes.SplitN(bytes.TrimRight(line, "\r\n"), []byte(" "), 3)
		if len(parts) != 3 || !bytes.HasPrefix(parts[2], []byte("HTTP/1.")) {
			w.WriteString("HTTP/1.1 400 Bad Request\r\nServer: goknot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			w.Flush()
			return
		}
		method, path := string(parts[0]), string(parts[1])
		http10 := bytes.Equal(parts[2], []byte("HTTP/1.0"))
		keep := !http10
		for { // headers: only Connection matters
			h, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(h) <= 2 {
				break
			}
			if len(h) > 11 && strings.EqualFold(string(h[:11]), "connection:") {
				for _, tok := range strings.Split(string(h[11:]), ",") {
					switch strings.ToLower(strings.TrimSpace(tok)) {
					case "close":
						keep = false
					case "keep-alive":
						keep = true
					}
				}
			}
		}
		requests.Add(1)
		if method != "GET" && method != "HEAD" {
			w.WriteString("HTTP/1.1 405 Method Not Allowed\r\nServer: goknot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			w.Flush()
			return
		}
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "/" {
			path = "/index.html"
		}
		f, status := files[path], "200 OK"
		if f == nil {
			f, status = notFound, "404 Not Found"
		}
		w.WriteString("HTTP/1.1 " + status + "\r\nServer: goknot\r\n")
		w.Write(date.Load().([]byte))
		w.Write(f.head)
		switch {
		case !keep:
			w.WriteString("Connection: close\r\n\r\n")
		case http10:
			w.WriteString("Connection: keep-alive\r\n\r\n")
		default:
			w.WriteString("\r\n")
		}
		if method == "GET" {
			w.Write(f.body)
		}
		if !keep {
			w.Flush()
			return
		}
	}
}

func main() {
	port := flag.Int("p", 8080, "port (0 picks a free one)")
	addr := flag.String("a", "127.0.0.1", "IPv4 address to listen on")
	docroot := flag.String("d", "www", "directory served")
	keep := flag.Int("k", 30, "idle keep-alive timeout in seconds")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "goknot: unexpected argument '%s'\n", flag.Arg(0))
		os.Exit(2)
	}
	keepAlive = time.Duration(*keep) * time.Second
	if err := load(*docroot); err != nil {
		fmt.Fprintf(os.Stderr, "goknot: docroot %s: %v\n", *docroot, err)
		os.Exit(1)
	}
	date.Store([]byte{})
	go renewDate()
	// The listen backlog is the kernel's somaxconn (Go passes it), as knot's -b asks for.
	ln, err := net.Listen("tcp4", fmt.Sprintf("%s:%d", *addr, *port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "goknot: %v\n", err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		fmt.Printf("goknot: %d requests on %d connections\n", requests.Load(), connections.Load())
		os.Exit(0)
	}()
	fmt.Printf("listening on %d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			fmt.Fprintf(os.Stderr, "goknot: accept: %v\n", err)
			time.Sleep(100 * time.Millisecond) // out of descriptors, say: let connections finish
			continue
		}
		connections.Add(1)
		go serve(c)
	}
}
