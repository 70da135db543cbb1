module github.com/puddlestore/puddlestore

go 1.26
