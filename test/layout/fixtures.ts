// The GPT layout the docs use: BIOS boot, ESP, swap, and a growing root.
export const GPT_EXAMPLE = `table = "gpt"
[[partition]]
label = "biosboot"
size = "1MiB"
flags = ["bios_grub"]
[[partition]]
label = "esp"
size = "512MiB"
fs = "vfat"
mount = "/boot/efi"
flags = ["esp"]
[[partition]]
label = "swap"
size = "5%"
fs = "swap"
[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
`
