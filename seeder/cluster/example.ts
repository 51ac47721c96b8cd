// The commented example `imgswarm cluster init` writes. It must pass
// `cluster validate` as written (a test checks), so layout lines that name
// files the operator has not written yet stay commented out.
export const CLUSTER_EXAMPLE = `# imgswarm cluster config: what every node installs. Keep it in git.
# Reference: docs/cluster-config.md. Check it with: imgswarm cluster validate
#
# Precedence, lowest first: [global] < groups by ascending priority (equal
# priorities: the group written later wins) < [[host]].
# image, layout and post come from the highest layer that sets them;
# overrides stack in that order (later ones win where they write the same file).

[global]
image = "base"                  # NAME (latest packed version) or NAME@VERSION
overrides = ["site"]            # applied first, on every node
post = "reboot"                 # reboot | poweroff | kexec | shell | none
# layout = "layouts/default.toml"  # disk layout file, relative to this file

[[group]]
name = "compute"
priority = 10
hosts = ["node[001-128]"]      # ranges: node[001-128], rack[1-4]-n[01-32], n[1-3,7]
overrides = ["compute"]

[[group]]
name = "gpu"
priority = 20                   # higher priority wins the image
image = "gpu@3"
hosts = ["gpu[01-16].farm.example", "node[120-128]"]
overrides = ["cuda"]
# layout = "layouts/gpu.toml"

[[group]]
name = "new"                    # a node that PXE-boots unknown joins this group
priority = 0
auto_enrol = false              # true: image unknown nodes without asking

[[host]]
hostname = "node001"
mac = "52:54:00:12:34:56"
ip = "10.0.0.11"
overrides = ["node001-keys"]    # stacked after its groups' overrides
post = "poweroff"
`
