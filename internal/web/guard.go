package web

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// filesOnly serves the dashboard's files and the root page, never a
// directory listing: any other directory (/vendor/) is 404.
func filesOnly(fsys fs.FS, files http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" {
			if st, err := fs.Stat(fsys, name); err == nil && st.IsDir() {
				http.NotFound(rw, r)
				return
			}
		}
		files.ServeHTTP(rw, r)
	})
}
