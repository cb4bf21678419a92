package card

import (
	"slices"

	"github.com/tes-project/tes/felica"
)

// serviceData is the storage of one service, shared by its read-write and read-only
// codes. For a cyclic service blocks[0] is the newest record.
type serviceData struct {
	Service
	blocks [][felica.BlockSize]byte
}

// serviceNode is what one service code reaches.
type serviceNode struct {
	data     *serviceData
	readOnly bool
	keys     NodeKeys
}

// nodeTable is a card's file system: what each node code reaches, in the shapes the
// commands ask for. It is built once by New and only the blocks change afterwards.
type nodeTable struct {
	areas    map[felica.NodeCode]Area
	services map[felica.NodeCode]serviceNode
	byName   map[string]*serviceData
	// order lists the services as the layout does, for snapshots.
	order []*serviceData
	// search is what Search Service Code walks: every area and every service code,
	// in code order (the root area 0000 first).
	search []felica.NodeCode
	// hasAES is true when some node has an AES key: only such a card knows Request
	// Service v2. hasDES is true when some node has a DES key: Request Service v2
	// then reports DES key versions too.
	hasAES, hasDES bool
}

func newNodeTable(l Layout, img Image) *nodeTable {
	n := &nodeTable{
		areas:    make(map[felica.NodeCode]Area, len(l.Areas)),
		services: make(map[felica.NodeCode]serviceNode, 2*len(l.Services)),
		byName:   make(map[string]*serviceData, len(l.Services)),
	}
	n.hasDES = l.SystemKeys.DES != nil
	for _, a := range l.Areas {
		n.areas[a.Code] = a
		n.hasAES = n.hasAES || a.Keys.AES != nil
		n.hasDES = n.hasDES || a.Keys.DES != nil
		n.search = append(n.search, a.Code)
	}
	for _, s := range l.Services {
		if o, ok := img.KeyOverrides[s.Name]; ok {
			s.KeyVersion, s.ReadWriteKeys, s.ReadOnlyKeys = o.KeyVersion, o.ReadWriteKeys, o.ReadOnlyKeys
		}
		n.hasAES = n.hasAES || s.ReadWriteKeys.AES != nil || s.ReadOnlyKeys.AES != nil
		n.hasDES = n.hasDES || s.ReadWriteKeys.DES != nil || s.ReadOnlyKeys.DES != nil
		data := &serviceData{Service: s, blocks: make([][felica.BlockSize]byte, s.Blocks)}
		copy(data.blocks, img.Blocks[s.Name])
		n.byName[s.Name] = data
		n.order = append(n.order, data)
		if s.ReadWrite != 0 {
			n.services[s.ReadWrite] = serviceNode{data: data, keys: s.ReadWriteKeys}
		}
		if s.ReadOnly != 0 {
			n.services[s.ReadOnly] = serviceNode{data: data, readOnly: true, keys: s.ReadOnlyKeys}
		}
		n.search = append(n.search, s.Codes()...)
	}
	slices.Sort(n.search)
	return n
}

// keyVersion answers Request Service for one node: the key version of an area or a
// service, or FFFF when the card has no such node.
func (n *nodeTable) keyVersion(code felica.NodeCode) uint16 {
	if a, ok := n.areas[code]; ok {
		return a.KeyVersion
	}
	if s, ok := n.services[code]; ok {
		return s.data.KeyVersion
	}
	return felica.KeyVersionNone
}

// nodeKeys returns the keys and key version of an area or a service code; ok is
// false when the card has no such node.
func (n *nodeTable) nodeKeys(code felica.NodeCode) (keys NodeKeys, version uint16, ok bool) {
	if a, ok := n.areas[code]; ok {
		return a.Keys, a.KeyVersion, true
	}
	if s, ok := n.services[code]; ok {
		return s.keys, s.data.KeyVersion, true
	}
	return NodeKeys{}, felica.KeyVersionNone, false
}

// applyWrite stores data at the targets, which resolveBlockList has checked. Random
// blocks are overwritten in place (the later of two writes to a block wins); the
// records for a cyclic service are pushed so that the first of them in the command
// becomes block 0.
func applyWrite(targets []target, data [][felica.BlockSize]byte) {
	records := make(map[*serviceData][][felica.BlockSize]byte)
	for i, t := range targets {
		if t.data.Kind == KindCyclic {
			records[t.data] = append(records[t.data], data[i])
			continue
		}
		t.data.blocks[t.block] = data[i]
	}
	for s, recs := range records {
		kept := s.blocks[:len(s.blocks)-len(recs)]
		s.blocks = append(slices.Clone(recs), kept...)
	}
}
