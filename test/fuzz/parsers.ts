// Samples and vocabularies of the text formats the parser campaigns edit.
export { GPT_EXAMPLE } from '../layout/fixtures.ts'

export const MSDOS_EXAMPLE = `table = "msdos"
[[partition]]
size = "100MiB"
fs = "ext4"
mount = "/boot"
flags = ["boot"]
[[partition]]
size = "grow"
fs = "xfs"
mount = "/"
`

export const LAYOUT_TOKENS = [
  'table = "gpt"',
  '[[partition]]',
  '[partition]',
  'size = "grow"',
  'size = "0MiB"',
  'size = "100%"',
  'size = "101%"',
  'size = "99999999999999MiB"',
  'size = 1',
  'fs = "ext4"',
  'fs = "btrfs"',
  'mount = "/"',
  'mount = "/../x"',
  'flags = ["esp", "esp"]',
  'label = "x"',
  'mkfs_options = ["-F"]',
  '"grow"',
  'MiB',
  'GiB',
  '%',
]

export const CLUSTER_TOKENS = [
  '[global]',
  '[[group]]',
  '[[host]]',
  'hosts = ["node[001-128]"]',
  'hosts = ["n[0-99999]"]',
  'hosts = ["n[1-3,7]-r[01-99]"]',
  'hosts = ["n[9-1]"]',
  'hosts = ["n[01-1000000000]"]',
  'hosts = ["a[1-9][1-9][1-9][1-9][1-9]"]',
  'macs = ["52:54:00:00:00:01"]',
  'priority = 10',
  'priority = -1',
  'priority = 1e400',
  'auto_enrol = true',
  'name = "g"',
  'image = "base@1"',
  'overrides = ["a", "a"]',
  'layout = "layouts/gpt.toml"',
  'layout = "../../etc/passwd"',
  'post = "kexec"',
  'hostname = "node001"',
  'mac = "52-54-00-12-34-56"',
  'ip = "10.0.0.1"',
  'ip = "::1"',
  'groups = ["compute"]',
  '[',
  ']',
  '-',
  ',',
]

export const CMDLINE_SAMPLES = [
  'BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet imgswarm.server=http://10.0.0.1:8470 imgswarm.pubkey=ERERERERERERERERERERERERERERERERERERERERERE= imgswarm.post=reboot',
  'imgswarm.server=https://boot.example/prefix/ imgswarm.image=base@3 imgswarm.hostname=Node001.lab imgswarm.mac=52-54-00-AB-CD-EF imgswarm.ip=10.0.0.11/24,10.0.0.1,10.0.0.2 imgswarm.disk=/dev/nvme0n1 imgswarm.debug imgswarm.monitor=http://10.0.0.2:8470 imgswarm.pubkey=ERERERERERERERERERERERERERERERERERERERERERE=',
  'imgswarm.ip=fd00::5/64,fd00::1 imgswarm.pubkey="/run/my keys/server.pub" imgswarm.post=shell imgswarm.post=none imgswarm.netwait=45 imgswarm.modules=a,b imgswarm.break',
]

export const CMDLINE_TOKENS = [
  ' imgswarm.server=',
  ' imgswarm.server=http://[::1]:8470',
  ' imgswarm.server=http://u:p@h/',
  ' imgswarm.server=ftp://h',
  ' imgswarm.image=',
  ' imgswarm.image=a@',
  ' imgswarm.hostname=-bad-',
  ' imgswarm.mac=zz:zz',
  ' imgswarm.ip=dhcp',
  ' imgswarm.ip=10.0.0.1/33,10.0.0.1',
  ' imgswarm.ip=10.0.0.1/24,fd00::1',
  ' imgswarm.disk=/dev/../etc',
  ' imgswarm.pubkey=',
  ' imgswarm.pubkey=relative/path',
  ' imgswarm.debug=2',
  ' imgswarm.',
  ' imgswarm.sever=x',
  ' "',
  '="',
  ' -- ',
  ' imgswarm.post',
]
