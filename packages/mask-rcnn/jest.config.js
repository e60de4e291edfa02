module.exports = { ...require('../../jest.preset.js'), displayName: 'mask-rcnn' };
