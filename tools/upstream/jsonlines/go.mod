// The protocol every check command of tools/upstream speaks, in one place: one JSON case per
// line in, one JSON answer per line out, each carrying the case's "id". Standard library only;
// each command requires it through a replace of ../jsonlines.
module big-data-pipeline/tools/upstream/jsonlines

go 1.25.0
